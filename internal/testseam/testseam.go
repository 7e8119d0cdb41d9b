package testseam

import "context"

// UserNS says how spawn sets up a new user namespace differently from
// what it does for every other caller.
type UserNS struct {
	// SetgroupsAllow leaves setgroups allowed in the new user namespace,
	// which needs CAP_SETGID over the parent; spawn otherwise denies it,
	// as an unprivileged caller must to write a gid map.
	SetgroupsAllow bool
	// NoMaps writes no uid or gid map (UIDMap and GIDMap are ignored)
	// while the child still asks for uid and gid 0 there, which fails:
	// EPERM from setgroups when SetgroupsAllow is set, EINVAL from setgid
	// otherwise. It reproduces the walk-through's "operation not
	// permitted", so that its diagnosis can be checked.
	NoMaps bool
}

type userNSKey struct{}

// WithUserNS returns a copy of ctx that asks spawn.Run for u.
func WithUserNS(ctx context.Context, u UserNS) context.Context {
	return context.WithValue(ctx, userNSKey{}, u)
}

// UserNSFrom returns what ctx asks for; the zero UserNS (maps written,
// setgroups denied) when it asks for nothing.
func UserNSFrom(ctx context.Context) UserNS {
	u, _ := ctx.Value(userNSKey{}).(UserNS)
	return u
}

// TimeNS names one way spawn makes a child's time namespace with offsets.
type TimeNS string

// The ways. Which of them a set can take, and on which kernels, is
// spawn's to say: Run refuses a way that cannot make the set asked for.
const (
	// TimeNSAuto lets spawn choose, as for every other caller.
	TimeNSAuto TimeNS = ""
	// TimeNSThread: Run's thread for time unshares it and clones the
	// child (a set without user, Linux 6.2 and later).
	TimeNSThread TimeNS = "thread"
	// TimeNSFork: the child Run forks unshares it before its exec (a set
	// with user, Linux 6.2 and later).
	TimeNSFork TimeNS = "fork"
	// TimeNSExec: the probe unshares it and execs itself inside (Linux
	// 6.2 and later).
	TimeNSExec TimeNS = "exec"
	// TimeNSStage: a single-threaded stage of the probe unshares it and
	// forks the observer inside (every kernel with time namespaces; the
	// only way before Linux 6.2).
	TimeNSStage TimeNS = "stage"
)

// TimeNSWays are the ways a test may force, in the order spawn prefers
// them where it has the choice.
func TimeNSWays() []TimeNS { return []TimeNS{TimeNSThread, TimeNSFork, TimeNSExec, TimeNSStage} }

type timeNSKey struct{}

// WithTimeNS returns a copy of ctx that asks spawn.Run to make the
// child's time namespace the way w.
func WithTimeNS(ctx context.Context, w TimeNS) context.Context {
	return context.WithValue(ctx, timeNSKey{}, w)
}

// TimeNSFrom returns the way ctx asks for; TimeNSAuto when it asks for
// none.
func TimeNSFrom(ctx context.Context) TimeNS {
	w, _ := ctx.Value(timeNSKey{}).(TimeNS)
	return w
}
