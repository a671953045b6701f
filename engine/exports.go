package engine

import (
	"context"
	"sort"
)

// Export is a call's dossiers with their assessments, for the
// secretariat's spreadsheets and archives.
type Export struct {
	Call         *Call         `json:"call"`
	Applications []ExportedApp `json:"applications"`
}

// ExportedApp is one dossier as exported: the whole dossier (the files by
// name and digest) with what its reviews say.
type ExportedApp struct {
	*Application
	Assessment *Assessment `json:"assessment"`
}

// ExportCall gathers every dossier of the call the secretariat may see
// (never a draft that was never submitted), in id order, with each one's
// reviews, in one read transaction so the export is one consistent
// instant. Returns EUNAUTHORIZED, EFORBIDDEN or ENOTFOUND.
func (s *Service) ExportCall(ctx context.Context, actor Actor, callID string) (*Export, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if !ValidSlug(callID) {
		return nil, Errorf(ENOTFOUND, "No such call.")
	}
	out := &Export{Applications: []ExportedApp{}}
	err := s.store.View(ctx, func(tx ReadTx) error {
		call, err := tx.Call(callID)
		if err != nil {
			return err
		}
		out.Call = call
		return eachApplication(tx, Query{Call: callID, LeftDraft: true}, func(head *Summary) error {
			app, err := tx.Application(head.ID)
			if err != nil {
				return err
			}
			a, err := assess(tx, call, app.ID)
			if err != nil {
				return err
			}
			sort.Slice(a.Reviews, func(i, j int) bool { return a.Reviews[i].Email < a.Reviews[j].Email })
			out.Applications = append(out.Applications, ExportedApp{Application: app, Assessment: a})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
