//! `tmpcopyup` (config.md "Linux mount options": "copy up the contents to a tmpfs"): a tmpfs
//! mounted over a directory of the image starts with a copy of what it covers, as crun and
//! podman's `--tmpfs` do. The copy reads the covered directory through an fd opened before
//! the mount, and every step is *at-relative to fds, never following a symlink.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmodat, fstatat, mkdirat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};

use super::paths::fd_path;

/// A readable fd on the directory `dest` (an `O_PATH` fd) names, to copy from once covered.
pub fn open_covered(dest: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    nix::fcntl::open(
        &fd_path(dest),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Copies the contents of directory `from` into directory `to`: files, directories, symlinks,
/// device nodes and fifos, with their mode and owner (sockets are skipped: they only mean
/// something to a process that is listening).
pub fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), (Errno, String)> {
    let mut names = Vec::new();
    let dir_fd = nix::unistd::dup(from).map_err(|e| (e, ".".to_owned()))?;
    let mut dir = Dir::from_fd(dir_fd).map_err(|e| (e, ".".to_owned()))?;
    for entry in dir.iter() {
        let entry = entry.map_err(|e| (e, ".".to_owned()))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_owned());
        }
    }
    for name in names {
        copy_entry(from, to, &name).map_err(|e| (e, name.to_string_lossy().into_owned()))?;
    }
    Ok(())
}

fn copy_entry(from: BorrowedFd<'_>, to: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    let st = fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(to, name, Mode::from_bits_truncate(0o700))?;
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let src = openat(from, name, flags, Mode::empty())?;
            let dst = openat(to, name, flags, Mode::empty())?;
            copy_tree(src.as_fd(), dst.as_fd()).map_err(|(e, _)| e)?;
        }
        SFlag::S_IFREG => {
            let src = openat(
                from,
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let dst = openat(
                to,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let mut src = std::fs::File::from(src);
            let mut dst = std::fs::File::from(dst);
            std::io::copy(&mut src, &mut dst)
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(from, name)?;
            symlinkat(Path::new(&target), to, name)?;
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
            mknodat(to, name, kind, mode, st.st_rdev)?;
        }
        _ => return Ok(()),
    }
    fchownat(
        to,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if kind != SFlag::S_IFLNK {
        // After chown, which clears set-id bits.
        fchmodat(to, name, mode, FchmodatFlags::FollowSymlink)?;
    }
    Ok(())
}
