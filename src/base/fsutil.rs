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
    sync_dir(&dir);
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
fn sync_dir(dir: &Path) {
    // Best effort: the rename is already atomic; this makes it durable across power loss.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

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
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.lock().map_err(|e| Error::io(path, e))?;
    Ok(LockGuard { file })
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
    fn dangling_symlink_is_an_error_and_nothing_is_created() {
        let dir = tempfile::tempdir().expect("tmp");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(dir.path().join("gone.json"), &link).expect("link");
        assert!(replace_file(&link, b"new", Expect::Anything).is_err());
        assert!(!dir.path().join("gone.json").exists());
    }
}
