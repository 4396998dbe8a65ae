//! Crash-safe file replacement and cross-process locks.
//!
//! `replace_file` is the only way Keybroker writes a file it does not own outright (a
//! host's config) and the way it writes its own state and the audit head: temp file in
//! the same directory, fsync, a last conflict check, rename over the target, fsync of the
//! directory. A kill at any point leaves the complete old or the complete new file. The
//! temp file gets a random name and is created exclusively (`O_EXCL`, mode 0600), so a
//! planted file or symlink is never opened or written through; its mode and owner are
//! then set through the open handle. The target's symlinks are written through (the
//! link stays a link), and its mode and owner are kept.
//! It does not merge concurrent edits: a changed file is reported, never overwritten.
//! Locks are the standard library's advisory file locks (`flock` on Unix, `LockFileEx`
//! on Windows).
//!
//! Keybroker's own files (state, audit log, head, locks) are different from a host's: a
//! symlink where one of them should be is a plant, never a dotfile link, so they are
//! opened with `O_NOFOLLOW` ([`open_own`]) and replaced only when the name is a regular
//! file or absent ([`replace_own_file`]). Directories Keybroker creates are 0700
//! ([`create_private_dir`]), and [`check_private_dir`] refuses one that another user owns
//! or can write (THREATS 38).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::base::error::{Error, Result};

pub type Digest32 = [u8; 32];

pub fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// The real file behind `path`: symlinks followed; a dangling link is an error.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            Error::other(
                format!(
                    "{} is a symlink whose target cannot be reached: {e}",
                    path.display()
                ),
                "fix or remove the dangling link, then run the command again",
            )
        }),
        Ok(_) => Ok(path.to_path_buf()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Read a file, returning `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// What the file must still contain right before it is replaced.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// No check (Keybroker's own files, written under its own lock).
    Anything,
    /// The file's bytes hash to this (we planned against them).
    Hash(Digest32),
}

/// Atomically replace `path` (through symlinks) with `bytes`.
pub fn replace_file(path: &Path, bytes: &[u8], expect: Expect) -> Result<()> {
    replace_file_with(path, bytes, expect, true, || Ok(()))
}

/// `durable_rename`: fsync the directory after the rename, so the new name survives a
/// power loss; without it the old file may come back (never a partial one: the new bytes
/// are fsynced before the rename either way).
fn replace_file_with(
    path: &Path,
    bytes: &[u8],
    expect: Expect,
    durable_rename: bool,
    ready: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let target = resolve(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let existing = fs::metadata(&target).ok();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());

    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.kb-"))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    keep_mode_and_owner(tmp.as_file(), tmp.path(), existing.as_ref())?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;

    ready()?;
    if let Expect::Hash(want) = expect {
        let now = read_optional(&target)?.unwrap_or_default();
        if sha256(&now) != want {
            return Err(Error::ConfigChanged {
                path: path.to_path_buf(),
            });
        }
    }
    tmp.persist(&target)
        .map_err(|e| Error::io(&target, e.error))?;
    if durable_rename {
        sync_dir(&dir);
    }
    Ok(())
}

/// Through the handle (`fchmod`/`fchown`), not the name: nothing swapped in at the temp
/// path in the meantime can be changed instead.
#[cfg(unix)]
fn keep_mode_and_owner(file: &File, tmp: &Path, existing: Option<&fs::Metadata>) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = existing.map(|m| m.mode() & 0o7777).unwrap_or(0o600);
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(tmp, e))?;
    if let Some(m) = existing {
        // Only root can give a file away; for everyone else the owner already matches.
        let _ = std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_mode_and_owner(file: &File, tmp: &Path, existing: Option<&fs::Metadata>) -> Result<()> {
    if let Some(m) = existing {
        file.set_permissions(m.permissions())
            .map_err(|e| Error::io(tmp, e))?;
    }
    Ok(())
}

#[cfg(unix)]
pub fn sync_dir(dir: &Path) {
    // Best effort: the rename is already atomic; this makes it durable across power loss.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) {}

/// An exclusive advisory lock on `path` (created if missing), held until dropped.
pub struct LockGuard {
    file: File,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

pub fn lock_exclusive(path: &Path) -> Result<LockGuard> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let file = open_own(path, Own::Lock)?;
    file.lock().map_err(|e| Error::io(path, e))?;
    Ok(LockGuard { file })
}

/// How [`open_own`] opens one of Keybroker's own files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    /// Read only; the file must exist.
    Read,
    /// Read and append, created 0600 if missing (the audit log).
    Append,
    /// Read and write, created 0600 if missing, never truncated (lock files).
    Lock,
}

/// Open one of Keybroker's own files without following a symlink at its name: a link
/// planted there (to make a write land in another file, or create one elsewhere) is an
/// error naming the link, and nothing is opened through it.
pub fn open_own(path: &Path, how: Own) -> Result<File> {
    let mut opts = OpenOptions::new();
    match how {
        Own::Read => opts.read(true),
        Own::Append => opts.read(true).append(true).create(true),
        Own::Lock => opts.read(true).write(true).create(true).truncate(false),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
        // `custom_flags` takes the platform's `c_int`; the bits always fit.
        #[allow(clippy::cast_possible_wrap)]
        opts.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    opts.open(path)
        .map_err(|e| match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => planted_link(path),
            _ => Error::io(path, e),
        })
}

/// `Ok` unless `path` is a symlink (one of Keybroker's own names must never be one).
pub fn refuse_link(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(planted_link(path)),
        _ => Ok(()),
    }
}

/// The error for a symlink found where one of Keybroker's own files belongs.
fn planted_link(path: &Path) -> Error {
    let target = fs::read_link(path)
        .map(|t| format!(" (it points to {})", t.display()))
        .unwrap_or_default();
    Error::UnsafeDir {
        path: path.to_path_buf(),
        problem: format!(
            "is a symlink{target}; Keybroker never reads or writes its own files through a link"
        ),
        fix: format!(
            "remove the link (`rm {}`) and check who created it; Keybroker creates the file again",
            path.display()
        ),
    }
}

/// Atomically replace one of Keybroker's own files (state, audit head). Unlike
/// [`replace_file`], a symlink at `path` is refused rather than written through; the
/// temp file is created exclusively under a random name in the same directory.
pub fn replace_own_file(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_own(path, bytes, true, || Ok(()))
}

/// [`replace_own_file`] for a file that can be told apart from its previous version by
/// what it describes (the audit head, against the log it summarises): its rename is not
/// fsynced on its own, which saves the launcher a directory fsync per start. After a power
/// loss the previous version may be back, whole, never a partial one. The rename happens
/// only once `ready` succeeds, after the temp file is written and fsynced; an error from
/// `ready` leaves the old file in place (the temp file is removed) and is returned (the
/// audit log's append fsyncs the log in `ready`, on another thread meanwhile, so the head
/// is never renamed in before the lines it describes are on disk).
pub fn replace_own_file_lazy_rename(
    path: &Path,
    bytes: &[u8],
    ready: impl FnOnce() -> Result<()>,
) -> Result<()> {
    replace_own(path, bytes, false, ready)
}

fn replace_own(
    path: &Path,
    bytes: &[u8],
    durable_rename: bool,
    ready: impl FnOnce() -> Result<()>,
) -> Result<()> {
    refuse_link(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    replace_file_with(path, bytes, Expect::Anything, durable_rename, ready)
}

/// `dir` and its missing parents, each created 0700 (Unix). Existing ones are left as
/// they are.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| Error::io(dir, e))
}

/// Refuse a directory Keybroker keeps its files in when another user owns it or can write
/// it (group or other write bit): whoever can write the directory can swap the files in
/// it. One `stat`; a directory that does not exist yet passes (it is created 0700), and
/// a path that is not a directory is left for the first use to report.
#[cfg(unix)]
pub fn check_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = match fs::metadata(dir) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let me = rustix::process::geteuid().as_raw();
    let shown = shell_words::quote(&dir.to_string_lossy()).into_owned();
    if meta.uid() != me {
        return Err(Error::UnsafeDir {
            path: dir.to_path_buf(),
            problem: format!(
                "is owned by user id {}, not by you (user id {me}), so its owner can replace \
                 Keybroker's files in it",
                meta.uid()
            ),
            fix: format!(
                "if it is yours, `sudo chown -R {me} {shown} && chmod 700 {shown}`; otherwise \
                 move it aside and run the command again (Keybroker creates a new one)"
            ),
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(Error::UnsafeDir {
            path: dir.to_path_buf(),
            problem: format!(
                "has mode {mode:04o}: other users can create, rename and delete files in it"
            ),
            fix: format!("chmod 700 {shown}"),
        });
    }
    Ok(())
}

/// Windows: the user profile's ACLs decide; nothing to check with one call.
#[cfg(not(unix))]
pub fn check_private_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Whether two paths name the same file (after resolving symlinks; as given when
/// either does not exist).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_refuses_when_the_file_changed_since_it_was_read() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let p = dir.path().join("c.json");
        fs::write(&p, b"old").map_err(|e| Error::io(&p, e))?;
        let planned = sha256(b"old");
        fs::write(&p, b"changed by host").map_err(|e| Error::io(&p, e))?;
        let err = replace_file(&p, b"new", Expect::Hash(planned));
        assert!(matches!(err, Err(Error::ConfigChanged { .. })));
        assert_eq!(
            fs::read(&p).map_err(|e| Error::io(&p, e))?,
            b"changed by host"
        );
        let leftovers = fs::read_dir(dir.path())
            .map_err(|e| Error::io("d", e))?
            .count();
        assert_eq!(leftovers, 1, "temp file must be removed");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn replace_writes_through_a_symlink_and_keeps_mode() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        fs::write(&real, b"old").map_err(|e| Error::io(&real, e))?;
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640))
            .map_err(|e| Error::io(&real, e))?;
        std::os::unix::fs::symlink(&real, &link).map_err(|e| Error::io(&link, e))?;
        replace_file(&link, b"new", Expect::Hash(sha256(b"old")))?;
        assert!(
            fs::symlink_metadata(&link)
                .map_err(|e| Error::io(&link, e))?
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).map_err(|e| Error::io(&real, e))?, b"new");
        let mode = fs::metadata(&real)
            .map_err(|e| Error::io(&real, e))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_private_and_no_temp_file_is_left_behind() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let p = dir.path().join("own.head");
        replace_file(&p, b"one", Expect::Anything)?;
        replace_file(&p, b"two", Expect::Anything)?;
        assert_eq!(fs::read(&p).map_err(|e| Error::io(&p, e))?, b"two");
        let mode = fs::metadata(&p)
            .map_err(|e| Error::io(&p, e))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .map_err(|e| Error::io("d", e))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("own.head")]);
        Ok(())
    }

    #[test]
    fn an_exclusive_lock_waits_for_the_holder_to_drop_it() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let p = dir.path().join("locks").join("x.lock");
        let guard = lock_exclusive(&p)?;
        let other = File::open(&p).map_err(|e| Error::io(&p, e))?;
        assert!(other.try_lock().is_err(), "held: a second lock must fail");
        drop(guard);
        assert!(other.try_lock().is_ok(), "released when the guard drops");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_dir_others_can_write_is_refused_with_the_chmod_to_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path().join("data");
        assert!(check_private_dir(&d).is_ok(), "missing: created 0700 later");
        create_private_dir(&d).expect("create");
        let mode = fs::metadata(&d).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(check_private_dir(&d).is_ok());
        for bad in [0o777, 0o770, 0o702] {
            fs::set_permissions(&d, fs::Permissions::from_mode(bad)).expect("chmod");
            let err = check_private_dir(&d).expect_err("refused");
            assert_eq!(err.code(), crate::base::error::ErrorCode::UnsafeDir);
            assert_eq!(err.exit_code(), 78);
            assert_eq!(
                err.fix().as_deref(),
                Some(format!("chmod 700 {}", d.display()).as_str())
            );
        }
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(
            check_private_dir(&d).is_ok(),
            "read-only for others is fine"
        );
    }

    #[cfg(unix)]
    #[test]
    fn own_files_are_never_opened_or_replaced_through_a_symlink() {
        let dir = tempfile::tempdir().expect("tmp");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").expect("victim");
        let link = dir.path().join("own.lock");
        std::os::unix::fs::symlink(&victim, &link).expect("link");
        for how in [Own::Read, Own::Append, Own::Lock] {
            let err = open_own(&link, how).expect_err("refused");
            assert_eq!(
                err.code(),
                crate::base::error::ErrorCode::UnsafeDir,
                "{err}"
            );
        }
        assert!(replace_own_file(&link, b"new").is_err());
        let dangling = dir.path().join("own.head");
        std::os::unix::fs::symlink(dir.path().join("created-elsewhere"), &dangling).expect("link");
        assert!(open_own(&dangling, Own::Lock).is_err());
        assert!(!dir.path().join("created-elsewhere").exists());
        assert_eq!(fs::read(&victim).expect("read"), b"keep");
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_is_an_error_and_nothing_is_created() {
        let dir = tempfile::tempdir().expect("tmp");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(dir.path().join("gone.json"), &link).expect("link");
        assert!(replace_file(&link, b"new", Expect::Anything).is_err());
        assert!(!dir.path().join("gone.json").exists());
    }
}
