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
