package probes

// The probe's flag names, without the leading dash. spawn writes them and
// the probe defines them, so a renamed flag is renamed on both sides at
// once. Each flag's meaning is in the probe's usage (nsprobe -h).
const (
	FlagHostname        = "hostname"
	FlagDomainname      = "domainname"
	FlagMsgQueue        = "msgq"
	FlagMQueue          = "mq"
	FlagMountProc       = "mount-proc"
	FlagCreateFile      = "create-file"
	FlagMarkerLink      = "marker-link"
	FlagParentNS        = "parent-ns"
	FlagTimens          = "timens"
	FlagMonotonicOffset = "monotonic-offset"
	FlagBoottimeOffset  = "boottime-offset"
	FlagTimensFrom      = "timens-from"
	FlagTimensExec      = "timens-exec"
	FlagNewPID          = "newpid"
	FlagHelloFD         = "hello-fd"
	FlagHelloPath       = "hello-path"
	FlagHelloToken      = "hello-token"
	FlagJoin            = "join"
	FlagJoinPidfd       = "join-pidfd"

	FlagTryHostname     = "try-hostname"
	FlagTryLink         = "try-link"
	FlagTryMountProc    = "try-mount-proc"
	FlagSetnsHost       = "setns-host"
	FlagRewriteUIDMap   = "rewrite-uid-map"
	FlagTrySetgroups    = "try-setgroups"
	FlagRemoveMsgQueue  = "remove-msgq"
	FlagWriteFile       = "write-file"
	FlagSignalPID       = "signal-pid"
	FlagLeaveDescendant = "leave-descendant"
	FlagDescendant      = "descendant"
	FlagNest            = "nest"
)

// Limits that the kernel sets on what the probe is asked to make; the
// probe and spawn check them before any syscall, so a name that is too
// long is a usage error rather than an EINVAL.
const (
	// MaxHostnameLen is HOST_NAME_MAX, the limit of the domain name too.
	MaxHostnameLen = 64
	// MaxLinkNameLen is IFNAMSIZ less the terminating NUL.
	MaxLinkNameLen = 15
	// MaxMQueueNameLen is NAME_MAX, the longest POSIX queue name.
	MaxMQueueNameLen = 255
	// MaxNestDepth is the deepest -nest takes; the kernel itself stops
	// at 32 or 33 levels.
	MaxNestDepth = 64
	// HelloTokenMax is the longest token said with a hello on a socket
	// path, which the host reads in one bounded line.
	HelloTokenMax = 64
)
