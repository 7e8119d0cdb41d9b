package probes

// Confine holds what the probe tried that a confined process may not do,
// and how the kernel answered: the confinement actions of nsprobe.
type Confine struct {
	// Attempts maps each attempt ("sethostname", "setns uts", …) to its
	// outcome.
	Attempts map[string]Attempt `json:"attempts,omitempty"`
	// Nest is the outcome of -nest: how deep the probe could nest
	// namespaces of one kind below its own.
	Nest *Nest `json:"nest,omitempty"`
	// DescendantPID is the host pid (as /proc/self of the probe's /proc
	// names it) of a process the probe started and left running when it
	// exited (-leave-descendant).
	DescendantPID int `json:"descendant_pid,omitempty"`
}

// Outcomes of an Attempt other than an errno name.
const (
	// Allowed: the kernel did what was asked.
	Allowed = "allowed"
	// NotTried: the probe refused to try, because the kernel might have
	// allowed something that would change the host; Detail says why.
	NotTried = "not tried"
)

// Attempt is the outcome of one thing the probe tried.
type Attempt struct {
	// Result is Allowed, NotTried, or the name of the errno the kernel
	// refused with ("EPERM", "EACCES", "ESRCH").
	Result string `json:"result"`
	// Detail is the error in words, or why the probe did not try.
	Detail string `json:"detail,omitempty"`
}

// Nest is how deep namespaces of Kind nest below the probe's own.
type Nest struct {
	// Kind is "user" or "pid".
	Kind string `json:"kind"`
	// Asked is how many nested namespaces the probe was asked to make
	// before it tries one more.
	Asked int `json:"asked"`
	// Created is how many it made, the last one included if it succeeded.
	Created int `json:"created"`
	// Next is the errno name of the first creation that failed, empty if
	// none did.
	Next string `json:"next,omitempty"`
	// StartLevel is the level of the probe's own pid namespace below the
	// initial one (0), from the NSpid line of a /proc mounted there; 0 and
	// absent for user, whose level no file tells.
	StartLevel int `json:"start_level,omitempty"`
}
