package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"designate/engine"
	"designate/store"
)

// benchPhoto is a JPEG of just under 3 MB, the most a UCCN photo may
// weigh: noise compresses badly, as detailed photos do.
var benchPhoto = sync.OnceValue(func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, 1400, 1050))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	for q := 100; q > 10; q -= 5 {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
			panic(err)
		}
		if b.Len() <= 2_990_000 {
			return b.Bytes()
		}
	}
	panic("no quality gives a photo under 3 MB")
})

// uniquePhoto is benchPhoto with a comment segment naming i after the SOI
// marker: still a valid JPEG, with its own digest, so the store cannot
// save work by keeping one copy.
func uniquePhoto(i int64) []byte {
	p := benchPhoto()
	tag := fmt.Appendf(nil, "upload %020d", i)
	out := make([]byte, 0, len(p)+len(tag)+4)
	out = append(out, p[:2]...)
	out = append(out, 0xFF, 0xFE, byte((len(tag)+2)>>8), byte(len(tag)+2))
	out = append(out, tag...)
	return append(out, p[2:]...)
}

// serverGC runs the benchmark with the collector set as cmd/designate sets
// it (GOGC 400 unless the environment says otherwise), so that the figures
// are the server's.
func serverGC(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(400)
		b.Cleanup(func() { debug.SetGCPercent(old) })
	}
}

// attachEnv is an engine over a real bbolt file and a real file store, with
// an open call whose photos slot takes three 3 MB JPEGs.
type attachEnv struct {
	svc   *engine.Service
	clock *engine.ManualClock
	next  atomic.Int64
}

func newAttachEnv(b *testing.B) *attachEnv {
	serverGC(b)
	ctx := context.Background()
	dir := b.TempDir()
	clock := engine.NewManualClock(time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC))
	db, err := store.Open(filepath.Join(dir, "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	files, err := store.OpenFiles(filepath.Join(dir, "files"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { files.Close() })
	svc := engine.NewService(db, clock)
	svc.Files = files
	call := benchCall(clock.Now())
	call.Attachments = []engine.AttachmentSlot{{ID: "photos", Title: engine.Localized{EN: "Photos", FR: "Photos"},
		Types: []engine.FileType{engine.FileJPEG}, MaxBytes: 3e6, Files: 3}}
	call.MaxAttachmentBytes = 20e6
	if _, err := svc.CreateCall(ctx, engine.System, call); err != nil {
		b.Fatal(err)
	}
	return &attachEnv{svc: svc, clock: clock}
}

// draft starts a dossier for a new synthetic city.
func (e *attachEnv) draft(b *testing.B, prefix string) (engine.Actor, string) {
	i := e.next.Add(1)
	a := engine.Actor{UserID: "u", Email: "city@example.org", Role: engine.RoleApplicant, City: fmt.Sprintf("%s %d", prefix, i), Country: "FR"}
	app, err := e.svc.CreateApplication(context.Background(), a, engine.NewApplication{Call: "bench", City: a.City, Country: "FR", Field: "Music", Language: "en"})
	if err != nil {
		b.Fatal(err)
	}
	return a, app.ID
}

// uploader uploads unique photos, three per dossier, until stop is closed.
func (e *attachEnv) uploader(b *testing.B, stop <-chan struct{}, uploaded *atomic.Int64) {
	for {
		a, id := e.draft(b, "Uploader")
		for range 3 {
			select {
			case <-stop:
				return
			default:
			}
			_, err := e.svc.Attach(context.Background(), a, id, "photos", engine.Upload{Name: "photo.jpg", Body: bytes.NewReader(uniquePhoto(e.next.Add(1)))})
			if err != nil {
				b.Error(err)
				return
			}
			uploaded.Add(1)
		}
	}
}

// BenchmarkUploadPhotos uploads 3 MB photos at 16 concurrent clients: each
// is streamed to disk, hashed, decoded whole, synced, renamed into place and
// recorded in a durable commit. Its MB/s compares with
// BenchmarkBaselineWriteFsync in the same run.
func BenchmarkUploadPhotos(b *testing.B) {
	e := newAttachEnv(b)
	photo := benchPhoto()
	type slot struct {
		actor engine.Actor
		id    string
	}
	// Every third upload fills a dossier's photos; prepare enough dossiers.
	drafts := make([]slot, b.N/3+1)
	for i := range drafts {
		drafts[i].actor, drafts[i].id = e.draft(b, "City")
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = uniquePhoto(int64(i))
	}
	var next atomic.Int64
	b.SetBytes(int64(len(photo)))
	b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			d := drafts[i/3]
			if _, err := e.svc.Attach(context.Background(), d.actor, d.id, "photos", engine.Upload{Name: "photo.jpg", Body: bytes.NewReader(bodies[i])}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBaselineWriteFsync is the floor of BenchmarkUploadPhotos: the
// same bytes written to a new file and synced, at the same concurrency.
func BenchmarkBaselineWriteFsync(b *testing.B) {
	dir := b.TempDir()
	photo := benchPhoto()
	var next atomic.Int64
	b.SetBytes(int64(len(photo)))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f, err := os.Create(filepath.Join(dir, fmt.Sprint(next.Add(1))))
			if err == nil {
				_, err = f.Write(photo)
			}
			if err == nil {
				err = f.Sync()
			}
			if err == nil {
				err = f.Close()
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSubmitWhileUploading is BenchmarkSubmit's metadata-only
// submissions at 64 clients while 16 clients upload 3 MB photos without
// pause; compare its ns/op with BenchmarkSubmit's in the same run. It
// reports the uploads' own throughput meanwhile as upload-MB/s.
func BenchmarkSubmitWhileUploading(b *testing.B) {
	e := newAttachEnv(b)
	contact := engine.Contact{Name: "Ada", Email: "ada@example.org", Phone: "+33 1 45 68 10 00"}
	type draft struct {
		actor engine.Actor
		id    string
	}
	drafts := make([]draft, b.N)
	for i := range drafts {
		a, id := e.draft(b, "Submitter")
		if _, err := e.svc.SaveApplication(context.Background(), a, id, engine.DraftEdit{Version: 1,
			Contacts: engine.Contacts{Mayor: contact, Representative: contact, Main: contact},
			Sections: map[string]string{"plan": "A plan of forty words or so for the city, to make the record realistic in size."}}); err != nil {
			b.Fatal(err)
		}
		drafts[i] = draft{a, id}
	}
	stop := make(chan struct{})
	var uploaded atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { e.uploader(b, stop, &uploaded) })
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := drafts[next.Add(1)-1]
			if _, err := e.svc.Transition(context.Background(), d.actor, d.id, engine.Move{Event: engine.EventSubmit}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(uploaded.Load())*float64(len(benchPhoto()))/1e6/elapsed.Seconds(), "upload-MB/s")
}
