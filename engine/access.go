package engine

// The access rules, in one place so every service method asks the same
// questions. Refusals follow one convention: ENOTFOUND when the caller may
// not know the dossier exists, EFORBIDDEN when it may see it but not act.

// canSee reports whether the actor may know the dossier exists.
func canSee(tx ReadTx, a Actor, app *Summary) bool {
	switch a.Role {
	case RoleEvaluator:
		return app.LeftDraft() && assigned(tx, app.ID, a.UserID)
	case RoleSystem:
		return true
	case RoleApplicant:
		return ownCity(a, app)
	case RoleCommission:
		return a.Country == app.Country && app.LeftDraft()
	case RoleSecretariat, RoleAdmin:
		return app.LeftDraft()
	}
	return false
}

// ownCity reports whether the actor is an applicant account of the dossier's city.
func ownCity(a Actor, app *Summary) bool {
	return a.Role == RoleApplicant && a.City == app.City && a.Country == app.Country
}

// isParty reports whether the actor is the party p for the dossier.
func isParty(a Actor, p Party, app *Summary) bool {
	switch p {
	case PartyCity:
		return ownCity(a, app)
	case PartyCommission:
		return a.Role == RoleCommission && a.Country == app.Country
	case PartySecretariat:
		return a.Staff()
	case PartySystem:
		return a.Role == RoleSystem
	}
	return false
}

// requireSignedIn returns EUNAUTHORIZED for the public.
func requireSignedIn(a Actor) error {
	if a.Anonymous() {
		return Errorf(EUNAUTHORIZED, "Please sign in.")
	}
	return nil
}

// requireStaff returns EUNAUTHORIZED for the public and EFORBIDDEN for
// anyone but the secretariat and the admin.
func requireStaff(a Actor) error {
	if err := requireSignedIn(a); err != nil {
		return err
	}
	if !a.Staff() && a.Role != RoleSystem {
		return Errorf(EFORBIDDEN, "Only the secretariat may do this.")
	}
	return nil
}

// scope narrows a query to what the actor may see; ok is false when the
// actor may see nothing it asked for.
func scope(a Actor, q Query) (Query, bool) {
	switch a.Role {
	case RoleApplicant:
		if (q.City != "" && q.City != a.City) || (q.Country != "" && q.Country != a.Country) {
			return q, false
		}
		q.City, q.Country = a.City, a.Country
	case RoleCommission:
		if q.Country != "" && q.Country != a.Country {
			return q, false
		}
		q.Country, q.LeftDraft = a.Country, true
	case RoleEvaluator:
		q.Evaluator, q.LeftDraft = a.UserID, true
	case RoleSecretariat, RoleAdmin:
		q.LeftDraft = true
	case RoleSystem:
	default:
		return q, false
	}
	return q, true
}
