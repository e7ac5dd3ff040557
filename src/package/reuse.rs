//! An unchanged zip left in place: a rebuild whose archive would come out byte for byte as the
//! file already at its final name does not write it again.
//!
//! A zip's bytes follow from its entries in order: each one's path and mode, and the cache key
//! of its record (the content's digest, the deflate settings and backend) or a link's target.
//! The SHA-256 of those, with lamina's version and the stamp of the running executable (another
//! build of lamina may lay headers out otherwise), is the zip's *fingerprint*. Once a zip has
//! been written and moved to its final name, its fingerprint, SHA-256 and sizes are remembered
//! with the stamp of the file at that name (one sealed file per output path, beside the zip's
//! memo of stamps). A later build computes the fingerprint before compressing anything, from
//! the digests the memo remembers (reading only files whose stamps changed). When it is the
//! remembered one and the file at the final name still has the remembered stamp, that file is
//! the zip this build would write: it is left as it is, and nothing is compressed, read from
//! the cache, written, synced or renamed. Verify still reads it.
//!
//! A stamp's change time cannot be set back by any tool, so a zip replaced or edited since has
//! another stamp. A write within the file system's clock tick of the stamp being taken could
//! keep it, as for input files (`stamps::SETTLED`): a record taken less than `SETTLED` after
//! the file's change time is trusted only once the file's SHA-256 is checked, and then taken
//! again, settled.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::stamps::{SETTLED, Stamp};

const MAGIC: &[u8; 8] = b"LAMINAZP";

/// What a written zip is: what its record remembers besides the file's stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zip {
    pub fingerprint: [u8; 32],
    pub sha256: [u8; 32],
    pub zipped_bytes: u64,
    pub entries: u64,
    /// As `PackageStats` reports them, for a build that leaves the zip in place.
    pub compressed_bytes: u64,
    pub default_level_bytes: u64,
}

/// A zip's record: what it is, and the stamp of the file at its final name when recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remembered {
    pub zip: Zip,
    stamp: Stamp,
    /// When the stamp was taken, in nanoseconds since the epoch.
    recorded_at: i128,
}

/// What one writer made of its zips: those written (final path, record file, what was written)
/// to be remembered once moved to their final names ([`remember_committed`]), and those left in
/// place (final paths), which a build's commit must not move, only check.
#[derive(Debug, Default)]
pub struct Outputs {
    pub written: Vec<(PathBuf, PathBuf, Zip)>,
    /// With the stamp each must still have when the build commits.
    pub in_place: Vec<(PathBuf, Stamp)>,
}

/// The fingerprint of a zip, fed its entries in archive order.
pub struct Fingerprint {
    hasher: Sha256,
    /// False once an entry came without a key: the zip is not remembered.
    whole: bool,
}

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(MAGIC);
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update([0]);
        hasher.update(crate::scan::memo::executable_stamp());
        Fingerprint {
            hasher,
            whole: true,
        }
    }
}

impl Fingerprint {
    /// One entry: its archive path, its mode, and its record's cache key, or for a link its
    /// target. `None`: the record is not known by a key, so the zip cannot be remembered.
    pub fn entry(&mut self, path: &str, mode: u32, content: Option<Content<'_>>) {
        let Some(content) = content else {
            self.whole = false;
            return;
        };
        self.hasher.update((path.len() as u64).to_le_bytes());
        self.hasher.update(path.as_bytes());
        self.hasher.update(mode.to_le_bytes());
        match content {
            Content::Key(key) => {
                self.hasher.update([0]);
                self.hasher.update(key);
            }
            Content::Link(target) => {
                self.hasher.update([1]);
                self.hasher.update((target.len() as u64).to_le_bytes());
                self.hasher.update(target.as_bytes());
            }
        }
    }

    pub fn finish(self) -> Option<[u8; 32]> {
        self.whole.then(|| self.hasher.finalize().into())
    }
}

/// What an entry's bytes in the zip follow from.
pub enum Content<'a> {
    Key(&'a super::cache::Key),
    Link(&'a str),
}

/// The record in `file`, if it is there and intact.
pub fn recall(file: &Path) -> Option<Remembered> {
    let body = super::stamps::read_sealed(file, MAGIC, &[])?;
    decode(&body)
}

impl Remembered {
    /// Whether the file at `zip` is the remembered one and `fingerprint` is its: then it is the
    /// zip a build of these entries writes. A record taken too soon after the file changed is
    /// checked by the file's SHA-256, and taken again (in `file`) once settled; a record
    /// trusted as it is only counts as used, for eviction.
    pub fn in_place(&self, zip: &Path, file: &Path, fingerprint: &[u8; 32]) -> bool {
        if &self.zip.fingerprint != fingerprint {
            return false;
        }
        // Not followed: a link put at the zip's name is not the file that was written.
        let Ok(meta) = std::fs::symlink_metadata(zip) else {
            return false;
        };
        if !meta.is_file() || Stamp::of(&meta) != self.stamp {
            return false;
        }
        if self.recorded_at - self.stamp.changed >= SETTLED.as_nanos() as i128 {
            let body = encode(self);
            let _ = super::stamps::save_sealed(file, MAGIC, &[], &body, Some(&body));
            return true;
        }
        // Hashed through one open file whose stamp is the remembered one, and the name still
        // that file's afterwards: a zip put in its place meanwhile is not taken for it.
        let Ok(mut opened) = crate::fs::open(zip) else {
            return false;
        };
        let same = |meta: std::io::Result<std::fs::Metadata>| {
            meta.is_ok_and(|meta| meta.is_file() && Stamp::of(&meta) == self.stamp)
        };
        if !same(opened.metadata())
            || sha256_of(&mut opened).is_none_or(|sha256| sha256 != self.zip.sha256)
            || !same(std::fs::symlink_metadata(zip))
        {
            return false;
        }
        record(file, self.stamp, &self.zip);
        true
    }

    /// The stamp the zip had when recorded (and must still have).
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }
}

/// Records `written` as the zip now at `zip` (its final name). Failures only cost a rewrite.
pub fn remember(file: &Path, zip: &Path, written: &Zip) {
    if let Ok(meta) = std::fs::symlink_metadata(zip) {
        record(file, Stamp::of(&meta), written);
    }
}

fn record(file: &Path, stamp: Stamp, written: &Zip) {
    let remembered = Remembered {
        zip: *written,
        stamp,
        recorded_at: now(),
    };
    let _ = super::stamps::write_sealed(file, MAGIC, &[], &encode(&remembered));
}

/// After a build's commit: remembers the written zips that were moved to their final names
/// (`committed`); the others (a shard's zips that were only verified) were not.
pub fn remember_committed(outputs: &Outputs, committed: &[PathBuf]) {
    for (zip, file, written) in &outputs.written {
        if committed.contains(zip) {
            remember(file, zip, written);
        }
    }
}

fn now() -> i128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as i128)
}

fn sha256_of(file: &mut impl Read) -> Option<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(hasher.finalize().into()),
            Ok(read) => hasher.update(&buffer[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

fn encode(remembered: &Remembered) -> Vec<u8> {
    let zip = &remembered.zip;
    let mut body = Vec::with_capacity(32 + 32 + 4 * 8 + Stamp::ENCODED + 16);
    body.extend_from_slice(&zip.fingerprint);
    body.extend_from_slice(&zip.sha256);
    for number in [
        zip.zipped_bytes,
        zip.entries,
        zip.compressed_bytes,
        zip.default_level_bytes,
    ] {
        body.extend_from_slice(&number.to_le_bytes());
    }
    remembered.stamp.encode(&mut body);
    body.extend_from_slice(&remembered.recorded_at.to_le_bytes());
    body
}

fn decode(body: &[u8]) -> Option<Remembered> {
    let (fingerprint, rest) = body.split_first_chunk::<32>()?;
    let (sha256, mut rest) = rest.split_first_chunk::<32>()?;
    let mut numbers = [0u64; 4];
    for number in &mut numbers {
        let (bytes, after) = rest.split_first_chunk::<8>()?;
        *number = u64::from_le_bytes(*bytes);
        rest = after;
    }
    let (stamp, rest) = rest.split_at_checked(Stamp::ENCODED)?;
    let recorded_at: [u8; 16] = rest.try_into().ok()?;
    let [zipped_bytes, entries, compressed_bytes, default_level_bytes] = numbers;
    Some(Remembered {
        zip: Zip {
            fingerprint: *fingerprint,
            sha256: *sha256,
            zipped_bytes,
            entries,
            compressed_bytes,
            default_level_bytes,
        },
        stamp: Stamp::decode(stamp)?,
        recorded_at: i128::from_le_bytes(recorded_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(fingerprint: u8) -> Zip {
        Zip {
            fingerprint: [fingerprint; 32],
            sha256: Sha256::digest(b"the zip").into(),
            zipped_bytes: 7,
            entries: 1,
            compressed_bytes: 3,
            default_level_bytes: 0,
        }
    }

    #[test]
    fn a_record_is_read_back_as_written_and_a_damaged_one_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (zip, file) = (dir.path().join("f.zip"), dir.path().join("record"));
        crate::fs::write(&zip, b"the zip").unwrap();
        remember(&file, &zip, &written(1));
        let recalled = recall(&file).unwrap();
        assert_eq!(recalled.zip, written(1));
        assert_eq!(decode(&encode(&recalled)), Some(recalled));
        let mut bytes = crate::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        crate::fs::write(&file, bytes).unwrap();
        assert_eq!(recall(&file), None);
    }

    #[test]
    fn only_the_remembered_file_with_the_same_fingerprint_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (zip, file) = (dir.path().join("f.zip"), dir.path().join("record"));
        crate::fs::write(&zip, b"the zip").unwrap();
        remember(&file, &zip, &written(1));
        let recalled = recall(&file).unwrap();
        assert!(recalled.in_place(&zip, &file, &[1; 32]));
        assert!(!recalled.in_place(&zip, &file, &[2; 32]), "other entries");
        // Rewritten since, same size: another stamp.
        crate::fs::write(&zip, b"the zap").unwrap();
        assert!(!recall(&file).unwrap().in_place(&zip, &file, &[1; 32]));
        crate::fs::remove_file(&zip).unwrap();
        assert!(!recalled.in_place(&zip, &file, &[1; 32]), "gone");
    }

    #[test]
    fn a_settled_record_is_trusted_by_its_stamp_and_a_racy_one_by_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (zip, file) = (dir.path().join("f.zip"), dir.path().join("record"));
        crate::fs::write(&zip, b"the zip").unwrap();
        let meta = std::fs::symlink_metadata(&zip).unwrap();
        let stamp = Stamp::of(&meta);
        let settled = Remembered {
            zip: Zip {
                // Not the file's bytes: a settled record is not read back.
                sha256: [9; 32],
                ..written(1)
            },
            stamp,
            recorded_at: stamp.changed + SETTLED.as_nanos() as i128,
        };
        assert!(settled.in_place(&zip, &file, &[1; 32]));
        let racy = Remembered {
            recorded_at: stamp.changed,
            ..settled
        };
        assert!(!racy.in_place(&zip, &file, &[1; 32]), "bytes differ");
        let racy = Remembered {
            zip: written(1),
            ..racy
        };
        assert!(racy.in_place(&zip, &file, &[1; 32]), "bytes match");
        // And taken again: settled now, if the file changed long enough ago.
        let again = recall(&file).unwrap();
        assert_eq!(again.zip, written(1));
        assert!(again.recorded_at > stamp.changed);
    }

    #[test]
    fn a_link_at_the_zips_name_is_never_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (zip, file) = (dir.path().join("f.zip"), dir.path().join("record"));
        let real = dir.path().join("real.zip");
        crate::fs::write(&real, b"the zip").unwrap();
        std::os::unix::fs::symlink(&real, &zip).unwrap();
        remember(&file, &zip, &written(1));
        assert!(!recall(&file).unwrap().in_place(&zip, &file, &[1; 32]));
    }

    #[test]
    fn fingerprints_follow_every_part_of_every_entry() {
        let key = [7; 32];
        let other = [8; 32];
        let of = |entries: &[(&str, u32, Content<'_>)]| {
            let mut fingerprint = Fingerprint::default();
            for (path, mode, content) in entries {
                let content = match content {
                    Content::Key(key) => Content::Key(key),
                    Content::Link(target) => Content::Link(target),
                };
                fingerprint.entry(path, *mode, Some(content));
            }
            fingerprint.finish().unwrap()
        };
        let base = of(&[("a", 0o644, Content::Key(&key))]);
        assert_eq!(base, of(&[("a", 0o644, Content::Key(&key))]));
        for changed in [
            of(&[("b", 0o644, Content::Key(&key))]),
            of(&[("a", 0o755, Content::Key(&key))]),
            of(&[("a", 0o644, Content::Key(&other))]),
            of(&[("a", 0o644, Content::Link("x"))]),
            of(&[
                ("a", 0o644, Content::Key(&key)),
                ("b", 0o644, Content::Link("")),
            ]),
        ] {
            assert_ne!(base, changed);
        }
        let mut partial = Fingerprint::default();
        partial.entry("a", 0o644, None);
        assert_eq!(partial.finish(), None);
    }
}
