package probes

import "fmt"

// Schema is the version of the report format. It is bumped on any change
// that an older reader would misunderstand. Schema 2 added caps and owners.
const Schema = 2

// Report is the one JSON object that nsprobe prints on stdout.
//
// A field whose observation failed is left at its zero value and the failure
// is recorded in Errors under the observation's name, so that one refusal
// (EPERM on a /proc mount, say) never hides the other observations.
type Report struct {
	Schema int `json:"schema"`
	PID    int `json:"pid"`
	PPID   int `json:"ppid"`
	// NSpid is the NSpid line of /proc/self/status: the probe's pid in
	// each pid namespace from the one its /proc belongs to down to its
	// own, absent on a kernel that does not print it (before 4.1).
	NSpid      []int                `json:"nspid,omitempty"`
	Hostname   string               `json:"hostname"`
	Domainname string               `json:"domainname"`
	NS         map[string]NSID      `json:"ns"`
	IPC        *IPC                 `json:"ipc,omitempty"`
	Proc       *Proc                `json:"proc,omitempty"`
	Links      *Links               `json:"links,omitempty"`
	User       *User                `json:"user,omitempty"`
	Cgroup     []string             `json:"cgroup,omitempty"`
	Clock      *Clock               `json:"clock,omitempty"`
	Caps       *Caps                `json:"caps,omitempty"`
	Owners     map[string]Ownership `json:"owners,omitempty"`
	// Mqueues are the POSIX queues of the probe's ipc namespace, listed
	// through an mqueue file system of its own, made where it mounts
	// /proc (-mount-proc) and attached nowhere.
	Mqueues []string `json:"mqueues,omitempty"`
	Confine *Confine `json:"confine,omitempty"`
	// Canaries are the probe's attempts on the canaries the host planted
	// (-canaries), by name; the host judges them by what it saw itself
	// where it can.
	Canaries map[string]CanaryAttempt `json:"canaries,omitempty"`
	Actions  map[string]string        `json:"actions,omitempty"`
	Launcher *Launcher                `json:"launcher,omitempty"`
	Errors   map[string]string        `json:"errors,omitempty"`
}

// NSID identifies a namespace by the device and inode of its nsfs file, the
// same pair that netns.NsHandle.Equal compares.
type NSID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// IPC lists the System V IPC objects visible in the probe's IPC namespace.
type IPC struct {
	Msg []IPCObject `json:"msg"`
	Shm []IPCObject `json:"shm"`
	Sem []IPCObject `json:"sem"`
}

// IPCObject is one row of /proc/sysvipc/{msg,shm,sem}.
type IPCObject struct {
	Key int32 `json:"key"`
	ID  int   `json:"id"`
}

// String prints the object as ipcs does, the key in hexadecimal.
func (o IPCObject) String() string {
	return fmt.Sprintf("key %#x id %d", uint32(o.Key), o.ID)
}

// Proc is what a listing of /proc shows: the pids visible there, and
// where /proc/self points (the probe's pid in the pid namespace that /proc
// was mounted for).
//
// The listing is bounded, so that a report costs the same on a host with
// thousands of processes: PIDs holds at most ProcListMax pids, and Complete
// says whether that was all of them. What the oracles need does not grow
// with the host: Self says where the probe finds itself, and a /proc of a
// new pid namespace is small enough to list whole.
type Proc struct {
	PIDs     []int  `json:"pids"`
	Complete bool   `json:"complete"`
	Self     string `json:"self,omitempty"`
}

// ProcListMax is the most pids a report lists from /proc.
const ProcListMax = 64

// Links is the probe's network namespace as netlink reports it.
type Links struct {
	Count int      `json:"count"`
	Names []string `json:"names"`
	// Flags are each link's interface flags as net.Flags prints them
	// ("up|loopback|running"; "loopback" for a lo that is down).
	Flags map[string]string `json:"flags,omitempty"`
}

// User holds the credentials and the id maps of the probe.
type User struct {
	UID       int       `json:"uid"`
	GID       int       `json:"gid"`
	UIDMap    []IDRange `json:"uid_map"`
	GIDMap    []IDRange `json:"gid_map"`
	Setgroups string    `json:"setgroups"`
	CapEff    string    `json:"cap_eff"`
}

// IDRange is one line of /proc/PID/uid_map or gid_map:
// [inside, outside, count].
type IDRange [3]uint32

// Clock holds the clocks that a time namespace can offset.
type Clock struct {
	MonotonicNS int64 `json:"monotonic_ns"`
	BoottimeNS  int64 `json:"boottime_ns"`
}

// Launcher is filled in when the probe ran as a two-stage launcher, to
// enter a time namespace whose offsets it wrote first or to join existing
// namespaces: the observer is then a process the launcher's stage started,
// and these are what the launcher knows of it.
type Launcher struct {
	// ObserverPID is the observer's pid in the launcher's pid namespace
	// (the host's, when the launcher was started there).
	ObserverPID int `json:"observer_pid"`
	// StageThreads is how many threads the stage that unshared the time
	// namespace had when it started the observer. It must be 1: on many
	// kernels a task whose time namespace for children differs from its
	// own cannot start a thread.
	StageThreads int `json:"stage_threads"`
	// Joined lists the kinds the stage joined (setns), in the order it
	// joined them (JoinOrder); absent when it joined none.
	Joined []string `json:"joined,omitempty"`
}

// JoinOrder is the order in which the probe joins namespaces, nsenter's:
// user first, so that the joiner holds capabilities in the user namespace
// that owns the rest; mnt late, since it changes the root and the working
// directory; time last, with pid, applying to the observer forked after.
var JoinOrder = []string{"user", "cgroup", "ipc", "uts", "net", "pid", "mnt", "time"}
