package forms

import (
	"errors"
	"reflect"
	"strings"

	"github.com/go-playground/locales/en"
	"github.com/go-playground/locales/fr"
	ut "github.com/go-playground/universal-translator"
	"github.com/go-playground/validator/v10"
	en_translations "github.com/go-playground/validator/v10/translations/en"
	fr_translations "github.com/go-playground/validator/v10/translations/fr"

	"designate/engine"
)

// Languages the messages come in.
const (
	English = "en"
	French  = "fr"
)

var (
	validate   = validator.New(validator.WithRequiredStructEnabled())
	translator = ut.New(en.New(), en.New(), fr.New())
)

func init() {
	// Messages name fields as the JSON does, so a client can put each next
	// to its input.
	validate.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	validate.RegisterValidation("country", func(fl validator.FieldLevel) bool {
		return engine.ValidCountry(fl.Field().String())
	})
	validate.RegisterValidation("slug", func(fl validator.FieldLevel) bool {
		return engine.ValidSlug(fl.Field().String())
	})
	validate.RegisterValidation("event", func(fl validator.FieldLevel) bool {
		for _, e := range engine.Events() {
			if e == fl.Field().String() {
				return true
			}
		}
		return false
	})
	validate.RegisterValidation("timezone", func(fl validator.FieldLevel) bool {
		return engine.ValidTimeZone(fl.Field().String())
	})
	enT, _ := translator.GetTranslator(English)
	frT, _ := translator.GetTranslator(French)
	if err := en_translations.RegisterDefaultTranslations(validate, enT); err != nil {
		panic(err)
	}
	if err := fr_translations.RegisterDefaultTranslations(validate, frT); err != nil {
		panic(err)
	}
	// Our own tags, in both languages.
	custom := map[string][2]string{
		"country":  {"{0} must be an ISO 3166-1 alpha-2 country code such as FR", "{0} doit être un code pays ISO 3166-1 alpha-2, par exemple FR"},
		"slug":     {"{0} must be lower-case letters, digits and dashes", "{0} doit être composé de minuscules, de chiffres et de tirets"},
		"event":    {"{0} must be one of: " + strings.Join(engine.Events(), ", "), "{0} doit être l'un de : " + strings.Join(engine.Events(), ", ")},
		"timezone": {"{0} must be an IANA time zone such as Europe/Paris", "{0} doit être un fuseau horaire IANA, par exemple Europe/Paris"},
	}
	for tag, msgs := range custom {
		for i, tr := range []ut.Translator{enT, frT} {
			msg := msgs[i]
			err := validate.RegisterTranslation(tag, tr,
				func(t ut.Translator) error { return t.Add(tag, msg, true) },
				func(t ut.Translator, fe validator.FieldError) string {
					s, _ := t.T(fe.Tag(), fe.Field())
					return s
				})
			if err != nil {
				panic(err)
			}
		}
	}
}

// Validate checks v's `validate` tags and returns EINVALID with one message
// per field, in lang (English when lang is unknown), keyed by the field's
// JSON path such as "sections[0].id".
func Validate(v any, lang string) error {
	err := validate.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	tr, found := translator.GetTranslator(lang)
	if !found {
		tr, _ = translator.GetTranslator(English)
	}
	fields := make(map[string]string, len(verrs))
	for _, fe := range verrs {
		// The namespace starts with the struct's Go name; the client knows
		// only the JSON path after it.
		path := fe.Namespace()
		if _, rest, ok := strings.Cut(path, "."); ok {
			path = rest
		}
		fields[path] = fe.Translate(tr)
	}
	return engine.FieldErrors(engine.EINVALID, "Some fields are not valid.", fields)
}
