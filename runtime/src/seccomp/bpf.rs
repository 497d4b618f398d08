//! Classic BPF code generation for seccomp filters (seccomp(2), `struct seccomp_data`):
//! an architecture check, then one small block per rule, each falling through to the next
//! when it does not match, then the default action. Only forward jumps within a block, so
//! every offset fits the 8-bit jump fields.

use oci_spec::runtime::{LinuxSeccompArg, LinuxSeccompOperator};

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RET_K: u16 = 0x06;

/// `struct seccomp_data` offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const MAX_INSNS: usize = 4096;

/// One comparison of a syscall argument (config-linux.md "Seccomp" `args`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond {
    pub index: usize,
    pub op: LinuxSeccompOperator,
    pub value: u64,
    pub value_two: u64,
}

impl Cond {
    pub fn from_spec(a: &LinuxSeccompArg) -> Self {
        Cond {
            index: a.index(),
            op: a.op(),
            value: a.value(),
            value_two: a.value_two().unwrap_or(0),
        }
    }
}

/// Syscall `nr` with all of `conds` returns `ret`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub nr: u32,
    pub conds: Vec<Cond>,
    pub ret: u32,
}

/// A jump target while a block is built.
#[derive(Debug, Clone, Copy)]
enum To {
    /// This many instructions forward.
    Skip(u8),
    /// Past the end of the block (the rule does not match).
    Fail,
}

#[derive(Debug, Clone, Copy)]
struct Insn {
    code: u16,
    jt: To,
    jf: To,
    k: u32,
}

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: To::Skip(0),
        jf: To::Skip(0),
        k,
    }
}

fn jump(code: u16, k: u32, jt: To, jf: To) -> Insn {
    Insn { code, jt, jf, k }
}

/// A loaded filter program.
#[derive(Debug, Clone)]
pub struct Program(Vec<libc::sock_filter>);

impl Program {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_sock_fprog(&self) -> libc::sock_fprog {
        libc::sock_fprog {
            len: self.0.len() as u16,
            filter: self.0.as_ptr() as *mut libc::sock_filter,
        }
    }
}

/// The whole program: arch check, rules in order, default.
pub fn build(rules: &[Rule], default: u32) -> Result<Program, String> {
    let mut out: Vec<libc::sock_filter> = Vec::new();
    let mut emit = |block: &[Insn]| -> Result<(), String> {
        let len = block.len();
        for (i, insn) in block.iter().enumerate() {
            let resolve = |t: To| -> Result<u8, String> {
                match t {
                    To::Skip(n) => Ok(n),
                    To::Fail => u8::try_from(len - i - 1)
                        .map_err(|_| "seccomp rule too long for a BPF jump".to_string()),
                }
            };
            out.push(libc::sock_filter {
                code: insn.code,
                jt: resolve(insn.jt)?,
                jf: resolve(insn.jf)?,
                k: insn.k,
            });
        }
        Ok(())
    };
    // Another ABI than native x86_64, or an x32 syscall: the default action.
    emit(&[
        stmt(LD_W_ABS, OFF_ARCH),
        jump(JEQ_K, AUDIT_ARCH_X86_64, To::Skip(1), To::Skip(0)),
        stmt(RET_K, default),
        stmt(LD_W_ABS, OFF_NR),
        jump(JGE_K, X32_SYSCALL_BIT, To::Skip(0), To::Skip(1)),
        stmt(RET_K, default),
    ])?;
    for rule in rules {
        let mut block = vec![
            stmt(LD_W_ABS, OFF_NR),
            jump(JEQ_K, rule.nr, To::Skip(0), To::Fail),
        ];
        for c in &rule.conds {
            cond(&mut block, c);
        }
        block.push(stmt(RET_K, rule.ret));
        emit(&block)?;
    }
    emit(&[stmt(RET_K, default)])?;
    if out.len() > MAX_INSNS {
        return Err(format!(
            "profile compiles to {} BPF instructions, more than the kernel's {MAX_INSNS}",
            out.len()
        ));
    }
    Ok(Program(out))
}

/// Appends the test of one condition: falls through when it holds, jumps to `Fail` if not.
/// 64-bit values are compared as (high, low) 32-bit words (little-endian `args[i]`).
fn cond(block: &mut Vec<Insn>, c: &Cond) {
    let lo_off = OFF_ARGS + 8 * c.index as u32;
    let hi_off = lo_off + 4;
    let (v_hi, v_lo) = ((c.value >> 32) as u32, c.value as u32);
    let ld = |off| stmt(LD_W_ABS, off);
    use LinuxSeccompOperator as Op;
    use To::{Fail, Skip};
    match c.op {
        Op::ScmpCmpEq => block.extend([
            ld(hi_off),
            jump(JEQ_K, v_hi, Skip(0), Fail),
            ld(lo_off),
            jump(JEQ_K, v_lo, Skip(0), Fail),
        ]),
        Op::ScmpCmpNe => block.extend([
            ld(hi_off),
            jump(JEQ_K, v_hi, Skip(0), Skip(2)),
            ld(lo_off),
            jump(JEQ_K, v_lo, Fail, Skip(0)),
        ]),
        Op::ScmpCmpMaskedEq => {
            let (d_hi, d_lo) = ((c.value_two >> 32) as u32, c.value_two as u32);
            block.extend([
                ld(hi_off),
                stmt(AND_K, v_hi),
                jump(JEQ_K, d_hi, Skip(0), Fail),
                ld(lo_off),
                stmt(AND_K, v_lo),
                jump(JEQ_K, d_lo, Skip(0), Fail),
            ])
        }
        // a > v  <=>  hi > v_hi || (hi == v_hi && lo > v_lo); likewise >=.
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            let low = if c.op == Op::ScmpCmpGt { JGT_K } else { JGE_K };
            block.extend([
                ld(hi_off),
                jump(JGT_K, v_hi, Skip(3), Skip(0)),
                jump(JEQ_K, v_hi, Skip(0), Fail),
                ld(lo_off),
                jump(low, v_lo, Skip(0), Fail),
            ])
        }
        // a < v  <=>  !(a >= v); a <= v  <=>  !(a > v).
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            let low = if c.op == Op::ScmpCmpLt { JGE_K } else { JGT_K };
            block.extend([
                ld(hi_off),
                jump(JGT_K, v_hi, Fail, Skip(0)),
                jump(JEQ_K, v_hi, Skip(0), Skip(2)),
                ld(lo_off),
                jump(low, v_lo, Fail, Skip(0)),
            ])
        }
    }
}
