//! cgroup v2 device control (config-linux.md "Allowed Device Cgroup Rules" on a v2 host): the
//! rules compiled to a `BPF_PROG_TYPE_CGROUP_DEVICE` program (cgroup-v2.rst "Device
//! controller"), loaded with bpf(2) and attached to the container's cgroup directory.
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! (access in the high 16 bits: mknod 1, read 2, write 4; device type in the low 16: block 1,
//! char 2) and returns 1 to allow. The rules keep v1's meaning: the last matching rule wins,
//! so they are tested last to first, and a device no rule matches is denied.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::devices::Rule;
use super::CgroupError;

/// One eBPF instruction (linux/bpf.h `struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    /// dst register in the low nibble, src in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

// linux/bpf_common.h + bpf.h opcodes used here.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const MOV64_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const RSH64_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
const AND64_K: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The program for `rules` (in config order, as [`super::devices::effective`] gives them).
/// Registers: r2 device type, r3 requested access, r4 major, r5 minor.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(MOV64_X, 3, 2, 0, 0),
        insn(AND64_K, 2, 0, 0, 0xffff),
        insn(RSH64_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let block = rule_block(rule);
        let always = block.len() == 2;
        prog.extend(block);
        if always {
            // Matches every request: what follows is unreachable, which the verifier refuses.
            return prog;
        }
    }
    prog.extend([insn(MOV64_K, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)]);
    prog
}

/// "If the request matches `rule`, return its verdict", falling through otherwise.
fn rule_block(rule: &Rule) -> Vec<Insn> {
    // Each test is a jump past the rest of the block; offsets are fixed once its length is known.
    let mut tests: Vec<Vec<Insn>> = Vec::new();
    match rule.kind {
        'b' => tests.push(vec![insn(JNE_K, 2, 0, 0, DEV_BLOCK)]),
        'c' => tests.push(vec![insn(JNE_K, 2, 0, 0, DEV_CHAR)]),
        _ => {}
    }
    let mut access = 0;
    for (c, bit) in [('m', ACC_MKNOD), ('r', ACC_READ), ('w', ACC_WRITE)] {
        if rule.access.contains(c) {
            access |= bit;
        }
    }
    if access != ACC_MKNOD | ACC_READ | ACC_WRITE {
        // Matches only when every requested bit is in the rule's access.
        tests.push(vec![
            insn(MOV64_X, 1, 3, 0, 0),
            insn(AND64_K, 1, 0, 0, !access),
            insn(JNE_K, 1, 0, 0, 0),
        ]);
    }
    if rule.kind != 'a' {
        if let Some(major) = rule.major {
            tests.push(vec![insn(JNE_K, 4, 0, 0, major as i32)]);
        }
        if let Some(minor) = rule.minor {
            tests.push(vec![insn(JNE_K, 5, 0, 0, minor as i32)]);
        }
    }
    let verdict = [
        insn(MOV64_K, 0, 0, 0, i32::from(rule.allow)),
        insn(EXIT, 0, 0, 0, 0),
    ];
    let mut remaining: usize = tests.iter().map(Vec::len).sum::<usize>() + verdict.len();
    let mut block = Vec::new();
    for test in tests {
        remaining -= test.len();
        let mut test = test;
        if let Some(jump) = test.last_mut() {
            jump.off = remaining as i16;
        }
        block.extend(test);
    }
    block.extend(verdict);
    block
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr` (the kernel accepts a shorter attr, zeroes
/// beyond it).
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// Loads the program for `rules` and attaches it to the cgroup2 directory `dir`. Multiple
/// programs may be attached (BPF_F_ALLOW_MULTI): a device is allowed only if every one allows
/// it, so a parent's program still applies. The attachment lives as long as the cgroup.
pub fn attach(dir: &Path, rules: &[Rule]) -> Result<(), CgroupError> {
    let fail = |what: &str, e: std::io::Error| {
        CgroupError::Other(format!(
            "cgroup {}: {what} of the device program: {}",
            dir.display(),
            super::lower(&e)
        ))
    };
    let prog = program(rules);
    let license = CString::from(c"GPL");
    let mut log = vec![0u8; 64 * 1024];
    let load = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        ..LoadAttr::default()
    };
    // SAFETY: `load` points at live buffers (program, license, log) for the call's duration;
    // the kernel writes only into the log buffer, within log_size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &load as *const LoadAttr,
            std::mem::size_of::<LoadAttr>(),
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        let text = String::from_utf8_lossy(&log);
        // The verifier's first line says what it refused.
        let first = text
            .trim_matches('\0')
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        return Err(fail(&format!("bpf load ({first})"), e));
    }
    // SAFETY: bpf(BPF_PROG_LOAD) returned a new fd that nothing else owns.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let cgroup = std::fs::File::open(dir).map_err(|e| fail("open", e))?;
    let attach = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    // SAFETY: `attach` is a valid attr of the given size; the kernel only reads it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attach as *const AttachAttr,
            std::mem::size_of::<AttachAttr>(),
        )
    };
    if rc < 0 {
        return Err(fail("bpf attach", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Whether `dir` is on a cgroup2 filesystem (a plain directory tree in tests is not: it gets
/// no program).
pub fn is_cgroup2(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    #[test]
    fn blocks_jump_past_themselves() {
        // c 1:3 rw: type, access (3 insns), major, minor, then the verdict.
        let block = rule_block(&rule(true, 'c', Some(1), Some(3), "rw"));
        assert_eq!(block.len(), 8);
        assert_eq!(block[0], insn(JNE_K, 2, 0, 7, DEV_CHAR));
        assert_eq!(block[1], insn(MOV64_X, 1, 3, 0, 0));
        assert_eq!(block[2], insn(AND64_K, 1, 0, 0, !(ACC_READ | ACC_WRITE)));
        assert_eq!(block[3], insn(JNE_K, 1, 0, 4, 0));
        assert_eq!(block[4], insn(JNE_K, 4, 0, 3, 1));
        assert_eq!(block[5], insn(JNE_K, 5, 0, 2, 3));
        assert_eq!(block[6], insn(MOV64_K, 0, 0, 0, 1));
        // "a" rwm: always matches.
        assert_eq!(rule_block(&rule(false, 'a', None, None, "rwm")).len(), 2);
    }

    #[test]
    fn last_rule_is_tested_first_and_default_denies() {
        let rules = [
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', Some(1), Some(3), "rwm"),
        ];
        let prog = program(&rules);
        // prologue 6, allow block 5 (type, major, minor, verdict), deny-all block 2; no
        // default after a rule that always matches.
        assert_eq!(prog.len(), 13);
        assert_eq!(prog[6], insn(JNE_K, 2, 0, 4, DEV_CHAR));
        assert_eq!(prog[9], insn(MOV64_K, 0, 0, 0, 1));
        assert_eq!(prog[11], insn(MOV64_K, 0, 0, 0, 0));
        // Without a catch-all rule, the default denies.
        let prog = program(&rules[1..]);
        assert_eq!(prog.len(), 13);
        assert_eq!(prog[11], insn(MOV64_K, 0, 0, 0, 0));
    }
}
