//! Atomic file writes: a reader (or a crash) sees the previous file or the
//! new one, never a mix.
//!
//! The contents go to a temporary file in the same directory
//! (`.NAME.tmp-PID-N`, created new), which is synced, then renamed over
//! the target (or, with [`WriteOptions::create_new`], hard-linked to it so
//! an existing file is never replaced), and the directory is synced so the
//! new name is durable too. On any error the temporary file is removed.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A failed atomic write: the file (the target, its temporary file or its
/// directory) and the error.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl WriteError {
    fn at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
        move |source| WriteError {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The kind of the underlying error ([`io::ErrorKind::AlreadyExists`]
    /// when [`WriteOptions::create_new`] found the target present).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

/// How [`write_atomic_with`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    mode: Option<u32>,
    create_new: bool,
    buffer: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            mode: None,
            create_new: false,
            buffer: 64 << 10,
        }
    }
}

impl WriteOptions {
    /// Replace the target, default permissions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Unix permission bits of the new file (e.g. `0o600` for a secret);
    /// the file never exists under its name with other permissions.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Never replace an existing target: the write fails with
    /// [`io::ErrorKind::AlreadyExists`] and the existing file stands.
    pub fn create_new(mut self) -> Self {
        self.create_new = true;
        self
    }

    /// Size of the write buffer handed to the writer.
    pub fn buffer(mut self, bytes: usize) -> Self {
        self.buffer = bytes;
        self
    }
}

/// Writes `bytes` to `path` atomically, replacing any previous file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, WriteOptions::new(), |w| w.write_all(bytes))
}

/// Writes what `write` writes to `path` atomically: to a temporary file in
/// the same directory, synced, then renamed (or linked) into place, the
/// directory synced. An error from `write` abandons the write, leaving the
/// previous file.
pub fn write_atomic_with<F>(path: &Path, options: WriteOptions, write: F) -> Result<(), WriteError>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let dir = parent(path);
    let (temp, file) = create_temp(dir, path, options.mode).map_err(WriteError::at(path))?;
    let result = (|| {
        let mut out = BufWriter::with_capacity(options.buffer, file);
        write(&mut out).map_err(WriteError::at(&temp))?;
        out.flush().map_err(WriteError::at(&temp))?;
        out.get_ref().sync_all().map_err(WriteError::at(&temp))?;
        drop(out);
        if options.create_new {
            std::fs::hard_link(&temp, path).map_err(WriteError::at(path))?;
            let _ = std::fs::remove_file(&temp);
        } else {
            std::fs::rename(&temp, path).map_err(WriteError::at(path))?;
        }
        sync_dir(dir).map_err(WriteError::at(dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Syncs a directory, so that names created, renamed or removed in it
/// are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The prefix of `path`'s temporary files.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    format!(".{name}.tmp-")
}

fn create_temp(dir: &Path, path: &Path, mode: Option<u32>) -> io::Result<(PathBuf, File)> {
    let prefix = temp_prefix(path);
    for attempt in 0..100u32 {
        let temp = dir.join(format!("{prefix}{}-{attempt}", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&temp) {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a temporary file"))
}

/// Removes the temporary files a crash left behind while writing `path`
/// (by any process: call it only where no other process writes `path`,
/// e.g. under the directory's lock).
pub fn remove_leftovers(path: &Path) -> Result<(), WriteError> {
    let dir = parent(path);
    let prefix = temp_prefix(path);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::at(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(WriteError::at(dir))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let temp = entry.path();
            std::fs::remove_file(&temp).map_err(WriteError::at(&temp))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[test]
    fn a_failed_writer_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, WriteOptions::new(), |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("stopped"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("stopped"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[test]
    fn create_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let options = WriteOptions::new().create_new().mode(0o600);
        write_atomic_with(&path, options, |w| w.write_all(b"first")).unwrap();
        let err = write_atomic_with(&path, options, |w| w.write_all(b"second")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["key"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn leftovers_of_a_crash_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        std::fs::write(dir.path().join(".checkpoint.tmp-1-0"), b"torn").unwrap();
        std::fs::write(dir.path().join("other"), b"kept").unwrap();
        remove_leftovers(&path).unwrap();
        assert_eq!(names(dir.path()), ["other"]);
    }
}
