//! Reading a file that a checked path names, with nothing swapped in between: no symbolic link
//! followed, no blocking open, no unbounded read.
//!
//! A path is checked (a regular file inside the project, after resolving `..` and links) and
//! then opened; between the two, the file or a directory above it can be replaced by a link
//! (to a file outside the project, to `/dev/zero`) or by a FIFO. So:
//!
//! Invariants:
//! - The path is resolved once (`canonicalize`), checked against the boundaries, and then
//!   opened component by component from the boundary it lies in, each with `O_NOFOLLOW`: a
//!   component that became a link since it was resolved is refused (`ELOOP`/`ENOTDIR`), so
//!   whatever is opened lies inside that boundary.
//! - The last component is opened with `O_NONBLOCK` (a FIFO opens at once, a device too) and
//!   `O_NOCTTY`; what it is, and its size, are read from the opened descriptor (`fstat`):
//!   only a regular file is read, never more than `limit + 1` bytes.
//! - Boundaries are trusted directories (the project's): they are resolved themselves, and
//!   links in them (`/tmp` → `/private/tmp`) are followed.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{fstat, openat, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The path does not resolve: missing, a broken link, a loop, permission denied, …
    Resolve { error: io::Error, broken_link: bool },
    /// Resolved, it lies outside every boundary.
    Outside(PathBuf),
    /// A component was replaced (by a link, or a directory by something else) after the path
    /// was resolved.
    Changed(io::Error),
    /// Opened, it is a directory.
    Directory,
    /// Opened, it is not a regular file (a FIFO, a socket, a device).
    NotRegular,
    /// Larger than the limit (from `fstat`), or grew over it while being read.
    TooLarge { size: u64, grew: bool },
    /// Opening or reading failed otherwise.
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Resolve { error, broken_link: true } => write!(f, "broken symbolic link ({error})"),
            ReadError::Resolve { error, .. } | ReadError::Io(error) => write!(f, "cannot read: {error}"),
            ReadError::Outside(resolved) => write!(f, "resolves outside the project ({}); not read", resolved.display()),
            ReadError::Changed(error) => write!(f, "replaced (by a symbolic link?) while being opened ({error}); not read"),
            ReadError::Directory => write!(f, "is a directory, not a file"),
            ReadError::NotRegular => write!(f, "not a regular file (a pipe, socket or device); not read"),
            ReadError::TooLarge { size, grew: false } => write!(f, "{size} bytes, over the limit; not read"),
            ReadError::TooLarge { .. } => write!(f, "grew over the limit while being read; not read"),
        }
    }
}

/// The bytes of the regular file `path` names, at most `limit` (see the module invariants).
/// With no `boundaries`, the file may lie anywhere (the root directory is the boundary).
pub fn read_regular_file(path: &Path, boundaries: &[PathBuf], limit: u64) -> Result<Vec<u8>, ReadError> {
    let resolved = std::fs::canonicalize(path).map_err(|error| {
        let broken_link =
            error.kind() == io::ErrorKind::NotFound && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        ReadError::Resolve { error, broken_link }
    })?;
    let root = PathBuf::from("/");
    let boundary = if boundaries.is_empty() {
        root
    } else {
        boundaries
            .iter()
            .filter_map(|boundary| std::fs::canonicalize(boundary).ok())
            .find(|boundary| resolved.starts_with(boundary))
            .ok_or_else(|| ReadError::Outside(resolved.clone()))?
    };
    read_beneath(&boundary, &resolved, limit)
}

/// The bytes of the regular file `resolved` (a path without links, as resolved earlier) inside
/// `boundary`, opened component by component without following a link: what changed since the
/// path was resolved is refused, not followed.
fn read_beneath(boundary: &Path, resolved: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let relative = resolved.strip_prefix(boundary).map_err(|_| ReadError::Outside(resolved.to_path_buf()))?;
    let names: Vec<&std::ffi::OsStr> = relative
        .components()
        .map(|component| match component {
            Component::Normal(name) => Ok(name),
            // `canonicalize` leaves none of these below a resolved boundary.
            _ => Err(ReadError::Outside(resolved.to_path_buf())),
        })
        .collect::<Result<_, _>>()?;
    let Some((last, directories)) = names.split_last() else {
        return Err(ReadError::Directory); // the boundary itself
    };
    let directory_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut directory = openat(CWD, boundary, directory_flags, Mode::empty()).map_err(|errno| ReadError::Io(errno.into()))?;
    for name in directories {
        directory = openat(&directory, *name, directory_flags | OFlags::NOFOLLOW, Mode::empty()).map_err(changed_or_io)?;
    }
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let descriptor = openat(&directory, *last, flags, Mode::empty()).map_err(changed_or_io)?;
    let status = fstat(&descriptor).map_err(|errno| ReadError::Io(errno.into()))?;
    match FileType::from_raw_mode(status.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(ReadError::Directory),
        _ => return Err(ReadError::NotRegular),
    }
    let size = status.st_size.max(0) as u64;
    if size > limit {
        return Err(ReadError::TooLarge { size, grew: false });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    File::from(descriptor).take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { size: bytes.len() as u64, grew: true });
    }
    Ok(bytes)
}

/// `ELOOP` (a link where a file or directory was) and `ENOTDIR` (a directory replaced) mean the
/// path changed after it was resolved.
fn changed_or_io(errno: Errno) -> ReadError {
    if errno == Errno::LOOP || errno == Errno::NOTDIR {
        ReadError::Changed(errno.into())
    } else {
        ReadError::Io(errno.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path, boundaries: &[PathBuf]) -> Result<Vec<u8>, ReadError> {
        read_regular_file(path, boundaries, 1 << 20)
    }

    #[test]
    fn regular_files_inside_are_read_and_links_inside_resolve() {
        let dir = tempfile_dir();
        let inside = dir.join("project");
        std::fs::create_dir_all(inside.join("pkg")).unwrap();
        std::fs::write(inside.join("pkg/app.py"), "x = 1\n").unwrap();
        std::os::unix::fs::symlink("pkg/app.py", inside.join("link.py")).unwrap();
        assert_eq!(read(&inside.join("pkg/app.py"), std::slice::from_ref(&inside)).unwrap(), b"x = 1\n");
        assert_eq!(read(&inside.join("link.py"), std::slice::from_ref(&inside)).unwrap(), b"x = 1\n");
        assert_eq!(read(&inside.join("pkg/app.py"), &[]).unwrap(), b"x = 1\n");
        assert!(matches!(read(&inside, &[]), Err(ReadError::Directory)));
    }

    #[test]
    fn a_file_or_directory_swapped_for_a_link_after_resolving_is_not_followed() {
        let dir = tempfile_dir();
        let inside = dir.join("project");
        std::fs::create_dir_all(inside.join("pkg")).unwrap();
        std::fs::write(dir.join("secret.py"), "secret = 1\n").unwrap();
        std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
        std::fs::write(dir.join("elsewhere/app.py"), "secret = 2\n").unwrap();
        // As if `app.py` and `sub` were a file and a directory when the path was resolved.
        std::os::unix::fs::symlink(dir.join("secret.py"), inside.join("app.py")).unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), inside.join("sub")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", inside.join("zero.py")).unwrap();
        let inside = std::fs::canonicalize(&inside).unwrap();
        for path in ["app.py", "sub/app.py", "zero.py"] {
            let read = read_beneath(&inside, &inside.join(path), 1 << 20);
            assert!(matches!(read, Err(ReadError::Changed(_))), "{path}: {read:?}");
        }
    }

    #[test]
    fn links_outside_devices_fifos_and_large_files_are_not_read() {
        let dir = tempfile_dir();
        let inside = dir.join("project");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::write(dir.join("secret.py"), "secret = 1\n").unwrap();
        std::os::unix::fs::symlink("../secret.py", inside.join("out.py")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", inside.join("zero.py")).unwrap();
        std::os::unix::fs::symlink("gone.py", inside.join("broken.py")).unwrap();
        let fifo = inside.join("fifo.py");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let boundary = std::slice::from_ref(&inside);
        assert!(matches!(read(&inside.join("out.py"), boundary), Err(ReadError::Outside(_))));
        assert!(matches!(read(&inside.join("zero.py"), &[]), Err(ReadError::NotRegular)));
        assert!(matches!(read(&inside.join("zero.py"), boundary), Err(ReadError::Outside(_))));
        assert!(matches!(read(&fifo, boundary), Err(ReadError::NotRegular)));
        assert!(matches!(read(&inside.join("broken.py"), boundary), Err(ReadError::Resolve { broken_link: true, .. })));
        std::fs::write(inside.join("big.py"), vec![b'x'; 2 << 20]).unwrap();
        assert!(matches!(read(&inside.join("big.py"), boundary), Err(ReadError::TooLarge { grew: false, .. })));
    }

    /// A directory removed when dropped (the engine has no tempfile dependency).
    struct Dir(PathBuf);

    impl std::ops::Deref for Dir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tempfile_dir() -> Dir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("flowsight-safe-open-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}
