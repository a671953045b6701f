package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"designate/engine"
	"designate/forms"
)

// Config is config.yaml.
type Config struct {
	Addr           string        `yaml:"addr"`
	Data           string        `yaml:"data"`
	LogLevel       string        `yaml:"log_level"`
	SessionTTL     time.Duration `yaml:"session_ttl"`
	SessionIdle    time.Duration `yaml:"session_idle"`
	SchedulerEvery time.Duration `yaml:"scheduler_every"`
	SweepChunk     int           `yaml:"sweep_chunk"`
	Mail           MailConfig    `yaml:"mail"`
	Demo           DemoConfig    `yaml:"demo"`
	Bench          BenchConfig   `yaml:"bench"`
}

// BenchConfig is what `designate rush --baseline` compares the product
// with.
type BenchConfig struct {
	// Endpoints adds GET /api/v1/bench/hello and POST /api/v1/bench/write
	// (web.Server.EnableBench). Off unless a test server asks: they take no
	// sign-in, and the write stores whatever anyone sends.
	Endpoints bool `yaml:"endpoints"`
}

// MailConfig is how the outbox's e-mails leave: over SMTP, or, with no
// host, as .eml files in <data>/mail.
type MailConfig struct {
	// Deliver false keeps every message in the outbox (a staging server
	// that must not write to real people; tests that compare databases).
	Deliver bool   `yaml:"deliver"`
	From    string `yaml:"from"`
	// Domain ends the Message-IDs.
	Domain string `yaml:"domain"`
	// Every is the outbox worker's longest pause.
	Every time.Duration `yaml:"every"`
	SMTP  struct {
		Host     string `yaml:"host"`
		Port     int    `yaml:"port"`
		StartTLS bool   `yaml:"starttls"`
		Username string `yaml:"username"`
		// Password is read from the environment variable it names when it
		// starts with "$", so the secret stays out of the file.
		Password string `yaml:"password"`
	} `yaml:"smtp"`
}

// DemoConfig is what the first start creates.
type DemoConfig struct {
	Enabled bool `yaml:"enabled"`
	// TimeTravel lets the staff move the server's clock forward (a page,
	// /demo/clock), to walk a call through its phases in minutes. Never
	// in production: it only takes effect with the demo.
	TimeTravel bool          `yaml:"time_travel"`
	Call       DemoCall      `yaml:"call"`
	Accounts   []DemoAccount `yaml:"accounts"`
}

// DemoCall is a call whose instants are relative to the first start.
type DemoCall struct {
	ID                    string           `yaml:"id"`
	Title                 string           `yaml:"title"`
	TimeZone              string           `yaml:"time_zone"`
	Fields                []string         `yaml:"fields"`
	Languages             []string         `yaml:"languages"`
	OpensIn               time.Duration    `yaml:"opens_in"`
	SubmissionDeadlineIn  time.Duration    `yaml:"submission_deadline_in"`
	Grace                 time.Duration    `yaml:"grace"`
	EndorsementDeadlineIn time.Duration    `yaml:"endorsement_deadline_in"`
	EvaluationDeadlineIn  time.Duration    `yaml:"evaluation_deadline_in"`
	AnnouncementIn        time.Duration    `yaml:"announcement_in"`
	MaxPerCountry         int              `yaml:"max_per_country"`
	DistinctFields        *bool            `yaml:"distinct_fields"`
	Sections              []engine.Section `yaml:"sections"`
	// Attachments are the files the form asks for; a slot's files default
	// to 1 and the dossier's total to 20 MB.
	Attachments        []engine.AttachmentSlot `yaml:"attachments"`
	MaxAttachmentBytes engine.ByteSize         `yaml:"max_attachment_bytes"`
	// Review is the evaluators' form: criteria scored on one scale.
	Review engine.ReviewForm `yaml:"review"`
}

// DemoAccount is an account the first start creates, with a random password.
type DemoAccount struct {
	Email   string      `yaml:"email"`
	Role    engine.Role `yaml:"role"`
	Country string      `yaml:"country"`
	City    string      `yaml:"city"`
	// Field is a member-city evaluator's creative field.
	Field string `yaml:"field"`
}

// DefaultConfig is what every key left out of config.yaml keeps.
func DefaultConfig() Config {
	return Config{
		Addr:           "localhost:8080",
		Data:           "data",
		LogLevel:       "info",
		SessionTTL:     12 * time.Hour,
		SessionIdle:    2 * time.Hour,
		SchedulerEvery: time.Second,
		SweepChunk:     200,
		Mail:           MailConfig{Deliver: true, From: "designate <no-reply@designate.invalid>", Domain: "designate.invalid", Every: 5 * time.Second},
	}
}

// LoadConfig reads path over the defaults, refusing unknown keys so a typo
// does not silently keep a default.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, cfg.check()
}

func (c *Config) check() error {
	switch {
	case c.SessionTTL < time.Minute:
		return fmt.Errorf("config: session_ttl must be at least 1m")
	case c.SessionIdle < time.Minute || c.SessionIdle > c.SessionTTL:
		return fmt.Errorf("config: session_idle must be between 1m and session_ttl")
	case c.SchedulerEvery < 10*time.Millisecond || c.SchedulerEvery > time.Minute:
		return fmt.Errorf("config: scheduler_every must be between 10ms and 1m")
	case c.SweepChunk < 1:
		return fmt.Errorf("config: sweep_chunk must be at least 1")
	case c.Mail.Every < 10*time.Millisecond || c.Mail.Every > time.Hour:
		return fmt.Errorf("config: mail.every must be between 10ms and 1h")
	case c.Mail.SMTP.Host != "" && (c.Mail.SMTP.Port < 1 || c.Mail.SMTP.Port > 65535):
		return fmt.Errorf("config: mail.smtp.port must be a port number")
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		return fmt.Errorf("config: mail.from must be an address such as \"designate <no-reply@example.org>\": %v", err)
	}
	return nil
}

// Call returns the demo call with its instants placed relative to now, as a
// real call places them: it opens at midnight and each deadline is at 23:59,
// in the call's time zone.
func (d *DemoCall) Call(now time.Time) engine.Call {
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		loc = time.UTC // Validate reports the bad zone by name.
	}
	day := func(offset time.Duration, hour, min int) time.Time {
		t := now.Add(offset).In(loc)
		return time.Date(t.Year(), t.Month(), t.Day(), hour, min, 0, 0, loc)
	}
	c := engine.Call{
		ID: d.ID, Title: d.Title, TimeZone: d.TimeZone, Fields: d.Fields, Languages: d.Languages,
		OpensAt:             day(d.OpensIn, 0, 0),
		SubmissionDeadline:  day(d.SubmissionDeadlineIn, 23, 59),
		Grace:               engine.Duration(d.Grace),
		EndorsementDeadline: day(d.EndorsementDeadlineIn, 23, 59),
		EvaluationDeadline:  day(d.EvaluationDeadlineIn, 23, 59),
		AnnouncementAt:      day(d.AnnouncementIn, 10, 0),
		MaxPerCountry:       d.MaxPerCountry,
		DistinctFields:      d.DistinctFields == nil || *d.DistinctFields,
		Sections:            d.Sections,
		MaxAttachmentBytes:  d.MaxAttachmentBytes,
		Review:              d.Review,
	}
	if c.MaxPerCountry == 0 {
		c.MaxPerCountry = 2
	}
	for _, slot := range d.Attachments {
		if slot.Files == 0 {
			slot.Files = 1
		}
		c.Attachments = append(c.Attachments, slot)
	}
	if len(c.Attachments) > 0 && c.MaxAttachmentBytes == 0 {
		c.MaxAttachmentBytes = forms.DefaultMaxAttachmentBytes
	}
	return c
}
