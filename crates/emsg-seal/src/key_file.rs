//! The master key on disk: one line of base64 in a file only its owner may read, and the
//! `EMSG_MASTER_KEY` variable as the alternative.
//!
//! Unix only: the permission check and the mode of new files rely on Unix file modes.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::key::MasterKey;

/// The environment variable that may carry the master key instead of a file.
pub const ENV_VAR: &str = "EMSG_MASTER_KEY";

/// A key file is one line of 44 characters; reading stops well beyond that so a wrong path
/// (a log, a database) is refused without loading it into memory.
const MAX_FILE_LEN: u64 = 1024;

/// Whether [`load_or_create`] found a key or made one, so the caller can tell the operator
/// that a new key exists and must be backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    Existing,
}

impl Created {
    pub fn is_new(self) -> bool {
        self == Self::New
    }
}

/// Loads the key at `path`, or creates one there (mode 0600) if there is no file.
///
/// An existing file is never replaced: a lost key makes every sealed value unreadable.
pub fn load_or_create(path: &Path) -> Result<(MasterKey, Created), KeyError> {
    match load(path) {
        Ok(key) => Ok((key, Created::Existing)),
        Err(KeyError::Read {
            kind: io::ErrorKind::NotFound,
            ..
        }) => {
            let key = MasterKey::generate();
            match write_new(path, &key) {
                Ok(()) => Ok((key, Created::New)),
                // Another process starting at the same moment won the race: use its key.
                Err(KeyError::AlreadyExists { .. }) => Ok((load(path)?, Created::Existing)),
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// Loads the key at `path`, refusing a file that group or others may access.
pub fn load(path: &Path) -> Result<MasterKey, KeyError> {
    let read_error = |err: io::Error| KeyError::Read {
        path: path.to_owned(),
        kind: err.kind(),
    };
    let file = File::open(path).map_err(read_error)?;
    // The mode is taken from the open file, not the path, so it is the file actually read.
    let mode = file.metadata().map_err(read_error)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    let mut contents = Zeroizing::new(String::new());
    file.take(MAX_FILE_LEN)
        .read_to_string(&mut contents)
        .map_err(read_error)?;
    MasterKey::parse(
        &contents,
        &format!("the master key file {}", path.display()),
    )
}

/// Parses the value of [`ENV_VAR`]; errors name the variable.
pub fn load_from_env_value(value: &str) -> Result<MasterKey, KeyError> {
    MasterKey::parse(value, ENV_VAR)
}

/// Writes `key` to a new file at `path` with mode 0600, creating its directory (mode 0700) if
/// needed, and makes both durable before returning. Fails if the file already exists.
pub fn write_new(path: &Path, key: &MasterKey) -> Result<(), KeyError> {
    let create_error = |err: io::Error| KeyError::Create {
        path: path.to_owned(),
        kind: err.kind(),
    };
    let dir = parent_dir(path);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(create_error)?;
    // The key is written whole to a file of this process's own first, then linked to `path`:
    // a link appears with all its content at once and refuses a name already there, so a
    // second process starting at the same moment never reads a half-written key.
    let staged = staging_path(path);
    // create_new refuses to follow or replace anything already there; the mode is set at
    // creation, so the key is never readable by others, not even for a moment.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged)
        .map_err(create_error)?;
    let line = Zeroizing::new(format!("{}\n", key.to_base64().expose()));
    let written = file
        .write_all(line.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| fs::hard_link(&staged, path));
    let _ = fs::remove_file(&staged);
    linked.map_err(|err| match err.kind() {
        io::ErrorKind::AlreadyExists => KeyError::AlreadyExists {
            path: path.to_owned(),
        },
        _ => create_error(err),
    })?;
    // Without this the new directory entry may vanish in a crash while the key is in use.
    sync_dir(dir).map_err(create_error)
}

/// A name beside `path` that only this process and moment use, for a key being written.
fn staging_path(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}-{nanos}.new", std::process::id()));
    path.with_file_name(name)
}

/// Where a rotation stages the next key before it becomes current: `path` with `.next`
/// appended to the file name (`master.key` → `master.key.next`).
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    path.with_file_name(name)
}

/// Replaces the key at `path` with the one at `pending`, in one atomic rename.
///
/// The pending file is loaded first, so a missing, unreadable, badly formed or too open file
/// can never take the place of a good key.
pub fn promote(pending: &Path, path: &Path) -> Result<(), KeyError> {
    load(pending)?;
    let promote_error = |err: io::Error| KeyError::Promote {
        pending: pending.to_owned(),
        path: path.to_owned(),
        kind: err.kind(),
    };
    fs::rename(pending, path).map_err(promote_error)?;
    sync_dir(parent_dir(path)).map_err(promote_error)?;
    let pending_dir = parent_dir(pending);
    if pending_dir != parent_dir(path) {
        sync_dir(pending_dir).map_err(promote_error)?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a directory's entries (a created or renamed file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_key_file_is_created_with_mode_0600_and_loads_back_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets").join("master.key");

        let (created, status) = load_or_create(&path).unwrap();
        assert_eq!(status, Created::New);
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(path.parent().unwrap()), 0o700);
        let contents = fs::read_to_string(&path).unwrap();
        assert_eq!(contents, format!("{}\n", created.to_base64().expose()));

        let (loaded, status) = load_or_create(&path).unwrap();
        assert_eq!(status, Created::Existing);
        assert_eq!(loaded.to_base64(), created.to_base64());
    }

    #[test]
    fn a_key_file_readable_by_group_is_refused_with_the_chmod_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_new(&path, &MasterKey::generate()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

        let err = load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::TooOpen { mode: 0o640, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
        assert!(message.contains("640"), "{message}");
    }

    #[test]
    fn a_key_file_with_a_bad_key_is_refused_naming_the_file_and_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        file.write_all(b"c2hvcnQ=\n").unwrap();

        let err = load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::WrongLength { len: 5, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(fs::read_to_string(&path).unwrap(), "c2hvcnQ=\n");
    }

    #[test]
    fn writing_a_new_key_over_an_existing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = MasterKey::generate();
        write_new(&path, &first).unwrap();

        let err = write_new(&path, &MasterKey::generate()).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err:?}");
        assert_eq!(load(&path).unwrap().to_base64(), first.to_base64());
    }

    #[test]
    fn the_pending_path_appends_next_to_the_file_name() {
        assert_eq!(
            pending_path(Path::new("/var/lib/emsg/master.key")),
            PathBuf::from("/var/lib/emsg/master.key.next")
        );
        assert_eq!(pending_path(Path::new("key")), PathBuf::from("key.next"));
    }

    #[test]
    fn promoting_the_pending_key_replaces_the_current_one_and_removes_the_pending_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let pending = pending_path(&path);
        write_new(&path, &MasterKey::generate()).unwrap();
        let next = MasterKey::generate();
        write_new(&pending, &next).unwrap();

        promote(&pending, &path).unwrap();
        assert!(!pending.exists());
        assert_eq!(load(&path).unwrap().id(), next.id());
        assert_eq!(mode_of(&path), 0o600);
    }

    #[test]
    fn promoting_a_missing_pending_key_leaves_the_current_key_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let current = MasterKey::generate();
        write_new(&path, &current).unwrap();

        let err = promote(&pending_path(&path), &path).unwrap_err();
        assert!(matches!(
            err,
            KeyError::Read {
                kind: io::ErrorKind::NotFound,
                ..
            }
        ));
        assert_eq!(load(&path).unwrap().id(), current.id());
    }

    #[test]
    fn errors_about_the_environment_variable_name_it() {
        let err = load_from_env_value("%%%").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("EMSG_MASTER_KEY is not valid base64")
        );
        let err = load_from_env_value("AAAA").unwrap_err();
        assert_eq!(
            err.to_string(),
            "EMSG_MASTER_KEY must be 32 bytes encoded as base64 (44 characters); got 3 bytes"
        );
        let key = MasterKey::generate();
        let loaded = load_from_env_value(&format!("{}\n", key.to_base64().expose())).unwrap();
        assert_eq!(loaded.id(), key.id());
    }
}
