//! The blob store behind photos: bytes kept under their SHA-256, so the same
//! bytes are stored once and a retried upload writes nothing new. A small
//! trait so that an S3-compatible store can stand in later; the local one
//! keeps files in a folder (`storage.dir`, default `<data_dir>/blobs`) as
//! `ab/cd/<sha256>`, each written to a temporary file and renamed into place,
//! so a reader never sees half a file.
//!
//! Bytes no row needs any more are not deleted by the code that removed the
//! rows but released ([`release`], in that code's transaction) and deleted
//! by [`sweep`], which retries until they are gone or used again.

mod release;

pub use release::{release, release_from, sweep};

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

/// Where bytes are kept, by their SHA-256 (lower-case hex).
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` (once: the same bytes again write nothing) and answers their SHA-256.
    fn put(&self, bytes: Vec<u8>) -> BoxFuture<'_, anyhow::Result<String>>;
    /// The bytes stored under `sha256`, if any.
    fn get(&self, sha256: &str) -> BoxFuture<'_, anyhow::Result<Option<Vec<u8>>>>;
    /// Removes the bytes under `sha256` unless they were stored (or put
    /// again) within `grace`. The caller has first made sure, in committed
    /// state, that nothing references them any more: the grace covers an
    /// upload of the same bytes racing the delete.
    fn delete(&self, sha256: &str, grace: Duration) -> BoxFuture<'_, anyhow::Result<Removal>>;
}

/// What a [`BlobStore::delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The bytes were there and are gone.
    Removed,
    /// There were no such bytes (gone already, or never stored).
    Absent,
    /// Kept: stored or put again within the grace; try again after it.
    Fresh,
}

/// The SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is a SHA-256 in lower-case hex (and so a safe file name).
fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Blobs in a local folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ab/cd/<sha256>` under the root.
    fn path_of(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[0..2]).join(&sha[2..4]).join(sha)
    }

    async fn write(&self, bytes: Vec<u8>) -> anyhow::Result<String> {
        let sha = sha256_hex(&bytes);
        let path = self.path_of(&sha);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            // put again: fresh for a delete's grace, which may be deciding now
            let touched = path.clone();
            let fresh = tokio::task::spawn_blocking(move || touch(&touched)).await?;
            match fresh {
                Ok(true) => return Ok(sha),
                // deleted (or set aside by a delete) in between: write it again below
                Ok(false) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(anyhow::anyhow!("cannot touch blob {sha}: {e}")),
            }
        }
        let dir = path
            .parent()
            .ok_or_else(|| anyhow::anyhow!("blob path without a folder"))?;
        tokio::fs::create_dir_all(dir).await?;
        // a name of its own per writer: two uploads of the same bytes at once
        // each write their own file and the second rename replaces the first
        // with identical bytes; a write that fails or is dropped half-way
        // leaves no file (`Partial`)
        let mut tmp = Partial {
            path: dir.join(format!(".{sha}.{}.tmp", uuid::Uuid::now_v7().simple())),
            placed: false,
        };
        let written = async {
            let mut f = tokio::fs::File::create(&tmp.path).await?;
            tokio::io::AsyncWriteExt::write_all(&mut f, &bytes).await?;
            f.sync_all().await?;
            drop(f);
            tokio::fs::rename(&tmp.path, &path).await
        }
        .await;
        written.map_err(|e| anyhow::anyhow!("cannot store blob {sha}: {e}"))?;
        tmp.placed = true;
        Ok(sha)
    }

    async fn read(&self, sha: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if !is_sha256(sha) {
            return Ok(None);
        }
        match tokio::fs::read(self.path_of(sha)).await {
            Ok(b) => Ok(Some(b)),
            // a delete that died after setting the bytes aside for a check
            // that found them put again: they are still wanted, back they go
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                for aside in self.set_aside(sha).await? {
                    if tokio::fs::rename(&aside, self.path_of(sha)).await.is_ok() {
                        return Ok(Some(tokio::fs::read(self.path_of(sha)).await?));
                    }
                }
                Ok(None)
            }
            Err(e) => Err(anyhow::anyhow!("cannot read blob {sha}: {e}")),
        }
    }

    async fn remove(&self, sha: &str, grace: Duration) -> anyhow::Result<Removal> {
        if !is_sha256(sha) {
            return Ok(Removal::Absent);
        }
        let path = self.path_of(sha);
        let modified = match tokio::fs::metadata(&path).await {
            Ok(m) => m.modified()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // a delete that died between setting the file aside and
                // unlinking it left it under a name of its own
                self.forget_set_aside(sha).await?;
                return Ok(Removal::Absent);
            }
            Err(e) => return Err(anyhow::anyhow!("cannot read blob {sha}: {e}")),
        };
        let age = SystemTime::now()
            .duration_since(modified)
            .unwrap_or(Duration::ZERO);
        if age < grace {
            return Ok(Removal::Fresh);
        }
        // set the file aside first, then look again: an upload that touched
        // it between the look above and the rename is seen now and the file
        // put back; one that touches it after the rename finds the name gone
        // (or another file under it) and writes the bytes anew (`touch`)
        let tomb = path.with_file_name(format!(".{sha}.{}.gone", uuid::Uuid::now_v7().simple()));
        match tokio::fs::rename(&path, &tomb).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Absent),
            Err(e) => return Err(anyhow::anyhow!("cannot delete blob {sha}: {e}")),
        }
        let touched = tokio::fs::metadata(&tomb)
            .await
            .and_then(|m| m.modified())
            .map(|m| m > modified);
        match touched {
            Ok(false) => {}
            Ok(true) => {
                // put again meanwhile: it stays (a file written under the name
                // since holds the same bytes)
                tokio::fs::rename(&tomb, &path).await?;
                return Ok(Removal::Fresh);
            }
            Err(e) => {
                let _ = tokio::fs::rename(&tomb, &path).await;
                return Err(anyhow::anyhow!("cannot read blob {sha}: {e}"));
            }
        }
        match tokio::fs::remove_file(&tomb).await {
            Ok(()) => {
                // and what an earlier delete that died left of the same bytes
                self.forget_set_aside(sha).await?;
                Ok(Removal::Removed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removal::Absent),
            Err(e) => Err(anyhow::anyhow!("cannot delete blob {sha}: {e}")),
        }
    }

    /// The files of `sha` a delete set aside (`.{sha}.….gone`).
    async fn set_aside(&self, sha: &str) -> anyhow::Result<Vec<PathBuf>> {
        let path = self.path_of(sha);
        let Some(dir) = path.parent() else {
            return Ok(Vec::new());
        };
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let prefix = format!(".{sha}.");
        let mut found = Vec::new();
        while let Some(e) = entries.next_entry().await? {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".gone") {
                found.push(e.path());
            }
        }
        Ok(found)
    }

    /// Deletes files of `sha` a delete set aside and did not finish with.
    async fn forget_set_aside(&self, sha: &str) -> anyhow::Result<()> {
        for aside in self.set_aside(sha).await? {
            match tokio::fs::remove_file(aside).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// A file being written: removed when dropped, unless it was `placed`
/// (renamed into place).
struct Partial {
    path: PathBuf,
    placed: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Marks the stored file at `path` as put again now, and answers whether it
/// is still the file under that name afterwards: false when a delete set it
/// aside meanwhile (the caller then writes the bytes anew).
fn touch(path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_modified(SystemTime::now())?;
    let (mine, named) = (f.metadata()?, std::fs::metadata(path));
    Ok(named.is_ok_and(|n| n.ino() == mine.ino() && n.dev() == mine.dev()))
}

impl BlobStore for LocalStore {
    fn put(&self, bytes: Vec<u8>) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(self.write(bytes))
    }

    fn get(&self, sha256: &str) -> BoxFuture<'_, anyhow::Result<Option<Vec<u8>>>> {
        let sha = sha256.to_string();
        Box::pin(async move { self.read(&sha).await })
    }

    fn delete(&self, sha256: &str, grace: Duration) -> BoxFuture<'_, anyhow::Result<Removal>> {
        let sha = sha256.to_string();
        Box::pin(async move { self.remove(&sha, grace).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[tokio::test]
    async fn a_delete_spares_bytes_stored_or_put_again_within_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let a = store.put(b"photo".to_vec()).await.unwrap();
        // just written: the grace keeps it
        let grace = Duration::from_secs(60);
        assert_eq!(store.delete(&a, grace).await.unwrap(), Removal::Fresh);
        assert!(store.get(&a).await.unwrap().is_some());
        // age the file, then put the same bytes again: fresh once more
        let old = SystemTime::now() - Duration::from_secs(3600);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(store.path_of(&a))
            .unwrap();
        f.set_modified(old).unwrap();
        store.put(b"photo".to_vec()).await.unwrap();
        assert_eq!(store.delete(&a, grace).await.unwrap(), Removal::Fresh);
        f.set_modified(old).unwrap();
        assert_eq!(store.delete(&a, grace).await.unwrap(), Removal::Removed);
        assert_eq!(store.get(&a).await.unwrap(), None);
        // a delete that died after setting aside bytes an upload had just
        // put again: a read (a row refers to them) puts them back
        let c = store.put(b"health check".to_vec()).await.unwrap();
        let aside = store
            .path_of(&c)
            .with_file_name(format!(".{c}.0190f3a0c0de7000800000000000000b.gone"));
        std::fs::rename(store.path_of(&c), &aside).unwrap();
        assert_eq!(
            store.get(&c).await.unwrap().as_deref(),
            Some(&b"health check"[..])
        );
        assert!(store.path_of(&c).exists() && !aside.exists());
        // a delete that died after setting the file aside: the next one
        // (the release is retried) deletes what it left
        let b = store.put(b"walkaround".to_vec()).await.unwrap();
        let aside = store
            .path_of(&b)
            .with_file_name(format!(".{b}.0190f3a0c0de7000800000000000000a.gone"));
        std::fs::rename(store.path_of(&b), &aside).unwrap();
        assert_eq!(store.delete(&b, grace).await.unwrap(), Removal::Absent);
        assert!(!aside.exists());
        // gone, or never a hash: nothing to remove
        assert_eq!(
            store.delete(&a, Duration::ZERO).await.unwrap(),
            Removal::Absent
        );
        assert_eq!(
            store.delete("../x", Duration::ZERO).await.unwrap(),
            Removal::Absent
        );
    }

    #[tokio::test]
    async fn the_same_bytes_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let a = store.put(b"hello".to_vec()).await.unwrap();
        let b = store.put(b"hello".to_vec()).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let files = files_under(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].ends_with(format!("2c/f2/{a}")), "{files:?}");
        assert_eq!(store.get(&a).await.unwrap().unwrap(), b"hello");
        let other = sha256_hex(b"other");
        assert_eq!(store.get(&other).await.unwrap(), None);
        // a name that is not a hash reads nothing (no path tricks)
        assert_eq!(store.get("../../etc/passwd").await.unwrap(), None);
    }
}
