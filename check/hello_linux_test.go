package check

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsverify/nsverify/probes"
)

// say connects to the hello socket, says line, and returns the connection.
func say(t *testing.T, path, line string) *net.UnixConn {
	t.Helper()
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestTheHelloTakesOnlyTheOneWhoKnowsTheToken(t *testing.T) {
	h, err := listenHello(filepath.Join(t.TempDir(), "hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.stop()
	h.serve(nil, time.Now().Add(time.Minute), false)

	// A stranger first: turned away, the socket stays open.
	stranger := say(t, h.path, "hnot-the-token\n")
	var b [1]byte
	if n, _ := stranger.Read(b[:]); n != 0 {
		t.Fatalf("the stranger got an answer %q", b[:n])
	}
	_ = stranger.Close()

	probe := say(t, h.path, "h"+h.token+"\n")
	defer func() { _ = probe.Close() }()
	if _, err := probe.Read(b[:]); err != nil || b[0] != 'g' {
		t.Fatalf("the probe got %q, %v; want the answer g", b[:1], err)
	}
	if err := json.NewEncoder(probe).Encode(&probes.Report{Schema: probes.Schema}); err != nil {
		t.Fatal(err)
	}
	// The report ends where the probe's side does.
	_ = probe.CloseWrite()
	heard := <-h.done
	if !heard.hello || heard.err != nil {
		t.Fatalf("heard %+v", heard)
	}
	// The kernel's word for who connected: this process.
	if heard.pid != os.Getpid() {
		t.Errorf("pid %d, want this process's %d", heard.pid, os.Getpid())
	}
	if heard.report == nil {
		t.Error("no report")
	}
}

func TestAHelloWithoutTheTokenIsNeverTakenForTheProbe(t *testing.T) {
	h, err := listenHello(filepath.Join(t.TempDir(), "hello"))
	if err != nil {
		t.Fatal(err)
	}
	h.serve(nil, time.Now().Add(time.Minute), false)
	for _, line := range []string{"h\n", "x" + h.token + "\n", "h" + h.token + "x\n"} {
		conn := say(t, h.path, line)
		var b [1]byte
		if n, _ := conn.Read(b[:]); n != 0 {
			t.Errorf("%q: answered %q", line, b[:n])
		}
		_ = conn.Close()
	}
	h.stop()
	heard := <-h.done
	if heard.hello || heard.err == nil || !strings.Contains(heard.err.Error(), "turned away") {
		t.Errorf("heard %+v; want no hello, and the strangers named", heard)
	}
}

func TestTempDirsTheHelloCannotUseAreRefused(t *testing.T) {
	if err := checkTempDir("/tmp", false); err != nil {
		t.Errorf("/tmp: %v", err)
	}
	if err := checkTempDir("/"+strings.Repeat("d", 100), false); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("a long TMPDIR: %v, want too long", err)
	}
	if err := checkTempDir("/tmp/a,b", false); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("a comma: %v, want it named", err)
	}
	if err := checkTempDir("/tmp/a,b", true); err != nil {
		t.Errorf("a comma without canaries: %v", err)
	}
}
