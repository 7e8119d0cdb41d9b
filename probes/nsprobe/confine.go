//go:build linux

package nsprobe

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// confineConfig holds the confinement actions: things a confined process
// may not do, tried so that the report shows the kernel's answer.
//
// Three would change the host if the kernel allowed them (-try-hostname,
// -try-link, -try-mount-proc). The probe makes each of those calls for
// real, wherever it runs, in a form the kernel cannot act on: one argument
// is invalid, and the kernel checks it only after the capability (see
// probes.AttemptSethostname and the others). Where the probe lacks the
// capability the answer is EPERM, where it holds it the argument's errno,
// and nothing changes either way; so a refusal and its control are the
// same call. The setns attempts try only where the kernel must refuse.
// Two act by the mapped id instead of a capability and do succeed with a
// 0 → 0 map (-remove-msgq, -write-file): their point is that lesson, and
// they act only on the object the caller names, which the suite makes for
// the spec.
type confineConfig struct {
	tryHostname   string
	tryLink       string
	tryMountProc  bool
	setnsHost     bool
	rewriteUIDMap bool
	trySetgroups  bool
	removeMsgq    int32
	writeFile     string
	signalPID     int
	leaveDesc     bool
	nestKind      string
	nestDepth     int
	// descendant makes this process the descendant that -leave-descendant
	// starts: print the host pid and wait to be killed, at most a minute.
	descendant bool
}

// any reports whether a confinement action was asked for.
func (c *confineConfig) any() bool {
	return c.tryHostname != "" || c.tryLink != "" || c.tryMountProc || c.setnsHost || c.rewriteUIDMap ||
		c.trySetgroups || c.removeMsgq != 0 || c.writeFile != "" || c.signalPID != 0 || c.leaveDesc || c.nestKind != ""
}

// defineConfineFlags adds the confinement flags to fs.
func defineConfineFlags(fs *flag.FlagSet, c *confineConfig) {
	fs.Func(probes.FlagTryHostname, "call sethostname with `NAME` padded to 65 bytes, one more than the kernel takes: EPERM without CAP_SYS_ADMIN over the uts namespace, EINVAL with it; nothing is set", func(v string) error {
		return checkUTSName(v, &c.tryHostname)
	})
	fs.Func(probes.FlagTryLink, "ask netlink for a bridge named `NAME` padded to 16 bytes, one more than the kernel takes: EPERM without CAP_NET_ADMIN over the net namespace, ERANGE with it; nothing is added", func(v string) error {
		if err := checkLinkName(v); err != nil {
			return err
		}
		c.tryLink = v
		return nil
	})
	fs.BoolVar(&c.tryMountProc, probes.FlagTryMountProc, false, "mount proc on /proc with an option proc does not know: EPERM without CAP_SYS_ADMIN over the mount namespace, EINVAL with it; nothing is mounted")
	fs.BoolVar(&c.setnsHost, probes.FlagSetnsHost, false, "from a new user namespace made by a single-threaded child, try to join each of the probe's own namespaces, and (the control) namespaces that new user namespace owns")
	fs.BoolVar(&c.rewriteUIDMap, probes.FlagRewriteUIDMap, false, "write the probe's uid map again, which the kernel refuses once a map is written")
	fs.BoolVar(&c.trySetgroups, probes.FlagTrySetgroups, false, "call setgroups(2) with an empty list, which only the probe's own credentials feel")
	fs.Func(probes.FlagRemoveMsgQueue, "remove the SysV message queue with key `KEY` (made by the caller), from a user namespace other than the initial one", func(v string) error {
		k, err := strconv.ParseInt(v, 10, 32)
		if err != nil || k == 0 {
			return errors.New("not a non-zero 32-bit decimal key; give the key of the queue the caller made, such as 4242")
		}
		c.removeMsgq = int32(k)
		return nil
	})
	fs.StringVar(&c.writeFile, probes.FlagWriteFile, "", "open the existing file at `PATH` (made by the caller) for writing and write one line, from a user namespace other than the initial one")
	fs.Func(probes.FlagSignalPID, "send signal 0 (which changes nothing) to `PID`, to see whether it exists for the probe", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errors.New("not a positive pid")
		}
		c.signalPID = n
		return nil
	})
	fs.BoolVar(&c.leaveDesc, probes.FlagLeaveDescendant, false, "start a process that outlives the probe by up to a minute, and report its pid")
	fs.BoolVar(&c.descendant, probes.FlagDescendant, false, "(internal) be the process -leave-descendant starts")
	fs.Func(probes.FlagNest, "`KIND=N`: below the probe's own, nest N namespaces of KIND (user or pid, N at most 64), then try one more", func(v string) error {
		kind, n, ok := strings.Cut(v, "=")
		depth, err := strconv.Atoi(n)
		if !ok || err != nil || depth < 1 || depth > probes.MaxNestDepth || (kind != "user" && kind != "pid") {
			return fmt.Errorf("%q is not KIND=N with KIND user or pid and N from 1 to %d", v, probes.MaxNestDepth)
		}
		c.nestKind, c.nestDepth = kind, depth
		return nil
	})
}

// actConfine runs the confinement actions and records each outcome.
func actConfine(c *confineConfig, r *probes.Report) {
	if !c.any() {
		return
	}
	res := &probes.Confine{Attempts: map[string]probes.Attempt{}}
	r.Confine = res
	if c.tryHostname != "" {
		res.Attempts[probes.AttemptSethostname] = checkedCall(probes.SethostnameCall(c.tryHostname), func() error { return overlongSethostname(c.tryHostname) })
	}
	if c.tryLink != "" {
		res.Attempts[probes.AttemptAddLink] = checkedCall(probes.AddLinkCall(c.tryLink), func() error { return overlongLinkAdd(c.tryLink) })
	}
	if c.tryMountProc {
		res.Attempts[probes.AttemptMountProc] = checkedCall(probes.MountProcCall(), invalidProcMount)
	}
	if c.setnsHost {
		setnsHost(res)
	}
	if c.rewriteUIDMap {
		res.Attempts["rewrite uid_map"] = rewriteUIDMap()
	}
	if c.trySetgroups {
		res.Attempts["setgroups"] = outcome(wrap("set groups", unix.Setgroups(nil)))
	}
	if c.removeMsgq != 0 {
		res.Attempts["remove msgq"] = byMappedID(func() error { return removeMsgQueue(c.removeMsgq) })
	}
	if c.writeFile != "" {
		res.Attempts["write file"] = byMappedID(func() error { return writeExisting(c.writeFile) })
	}
	if c.signalPID != 0 {
		res.Attempts["signal "+strconv.Itoa(c.signalPID)] = outcome(wrap("send signal 0", unix.Kill(c.signalPID, 0)))
	}
	if c.leaveDesc {
		pid, err := leaveDescendant()
		if err != nil {
			fail(r, "confine", err)
		}
		res.DescendantPID = pid
	}
	if c.nestKind != "" {
		nest, err := nestNamespaces(c.nestKind, c.nestDepth)
		if err != nil {
			fail(r, "confine", err)
		}
		res.Nest = nest
	}
}

// outcome turns an error into an Attempt: Allowed, or the errno's name.
func outcome(err error) probes.Attempt {
	if err == nil {
		return probes.Attempt{Result: probes.Allowed}
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return probes.Attempt{Result: unix.ErrnoName(errno), Detail: err.Error()}
	}
	return probes.Attempt{Result: "error", Detail: err.Error()}
}

// checkedCall makes call (act) and records the kernel's answer with the
// call's text: the same record whether the kernel refuses (EPERM) or
// permits it and rejects the invalid argument, so the two are judged on
// the same field.
func checkedCall(call string, act func() error) probes.Attempt {
	a := outcome(act())
	a.Call = call
	return a
}

// overlongSethostname calls sethostname(2) with name padded to one byte
// more than the kernel takes. The kernel checks CAP_SYS_ADMIN over the uts
// namespace's owner first (EPERM), then the length (EINVAL), and copies
// nothing before both pass.
func overlongSethostname(name string) error {
	return wrap("set hostname", unix.Sethostname([]byte(probes.OverlongHostname(name))))
}

// overlongLinkAdd sends RTM_NEWLINK for a bridge named name padded to one
// byte more than the kernel takes. rtnetlink_rcv_msg checks CAP_NET_ADMIN
// over the net namespace's owner first (EPERM); rtnl_newlink then rejects
// the name by its attribute policy (ERANGE) before it looks up the kind,
// so no module is requested and no link is made. Should a kernel ever take
// it, the link (under the name cut to what the kernel keeps) is removed at
// once: it may be in the host's network namespace.
func overlongLinkAdd(name string) error {
	long := probes.OverlongLinkName(name)
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(long)))
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	req.AddData(info)
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("add link %s: %w", long, err)
	}
	kept := long[:probes.MaxLinkNameLen]
	l, err := netlink.LinkByName(kept)
	if err != nil {
		return fmt.Errorf("add link %s: the kernel took the name, and finding %s to remove it failed: %w", long, kept, err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("add link %s: the kernel took the name, and removing %s failed: %w", long, kept, err)
	}
	return nil
}

// invalidProcMount mounts proc on /proc with an option proc rejects, after
// may_mount has checked CAP_SYS_ADMIN over the mount namespace's owner.
// Should a kernel ever take it, the mount is undone at once: it may be on
// the host's /proc.
func invalidProcMount() error {
	err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, probes.InvalidProcOption)
	if err == nil {
		if uerr := unix.Unmount("/proc", unix.MNT_DETACH); uerr != nil {
			return fmt.Errorf("mount proc: the kernel took option %q, and unmounting it failed: %w", probes.InvalidProcOption, uerr)
		}
		return nil
	}
	return wrap("mount proc", err)
}

// byMappedID does act only from a user namespace other than the initial
// one: the point of these actions is what the mapped id may do.
func byMappedID(act func() error) probes.Attempt {
	id, err := probes.StatNSID("/proc/self/ns/user")
	if err != nil {
		return probes.Attempt{Result: probes.NotTried, Detail: err.Error()}
	}
	if id.Ino == procUserInitIno {
		return probes.Attempt{Result: probes.NotTried, Detail: "the probe is in the initial user namespace, where it is simply the host's root or user"}
	}
	return outcome(act())
}

// rewriteUIDMap writes the probe's own uid map again, unchanged. The
// kernel takes a map once: a written map (a non-empty one) is certain to
// be refused; an unwritten one is not tried.
func rewriteUIDMap() probes.Attempt {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return probes.Attempt{Result: probes.NotTried, Detail: fmt.Sprintf("read uid_map: %v", err)}
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return probes.Attempt{Result: probes.NotTried, Detail: "uid_map is not written yet; a first write could succeed"}
	}
	// One line, as a writer gives it; the kernel pads what it prints.
	line := strings.Join(strings.Fields(strings.SplitN(string(data), "\n", 2)[0]), " ") + "\n"
	f, err := os.OpenFile("/proc/self/uid_map", os.O_WRONLY, 0)
	if err != nil {
		return outcome(fmt.Errorf("open uid_map: %w", err))
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		return outcome(fmt.Errorf("write uid_map: %w", err))
	}
	return outcome(nil)
}

// removeMsgQueue removes the SysV message queue with key.
func removeMsgQueue(key int32) error {
	id, err := probes.MsgGet(key, 0)
	if err != nil {
		return fmt.Errorf("find msg queue %d: %w", key, err)
	}
	if err := probes.MsgRemove(id); err != nil {
		return fmt.Errorf("remove msg queue %d: %w", key, err)
	}
	return nil
}

// writeExisting writes one line to the existing file at path; it never
// creates one.
func writeExisting(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open file for writing: %w", err)
	}
	if _, err := f.WriteString("written by nsprobe\n"); err != nil {
		f.Close()
		return fmt.Errorf("write file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	return nil
}

// descendantLife bounds the life of the process -leave-descendant starts,
// should nothing kill it.
const descendantLife = time.Minute

// leaveDescendant starts this binary as -descendant, with no parent death
// signal, so whether it outlives the probe depends only on the pid
// namespace: as pid 1's descendant it is killed when the probe exits.
// It returns the descendant's pid as /proc/self names it for the
// descendant (the host pid when /proc is the host's).
func leaveDescendant() (int, error) {
	lead, _ := commandLine()
	cmd := exec.Command("/proc/self/exe", append(lead[1:], "-"+probes.FlagDescendant)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("start descendant: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start descendant: %w", err)
	}
	var line [32]byte
	n, err := out.Read(line[:])
	if err != nil {
		return 0, fmt.Errorf("read descendant's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil {
		return 0, fmt.Errorf("read descendant's pid: %w", err)
	}
	// Not waited for: it must still run when the probe exits.
	return pid, nil
}

// beDescendant is the process leaveDescendant starts.
func beDescendant() int {
	self, err := os.Readlink("/proc/self")
	if err != nil {
		fmt.Fprintf(os.Stderr, "nsprobe: descendant: %v\n", err)
		return 1
	}
	fmt.Println(self)
	os.Stdout.Close()
	time.Sleep(descendantLife)
	return 0
}

// wrap prefixes err, if any, with verb.
func wrap(verb string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}
