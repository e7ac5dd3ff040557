//! `build --compile` and `build --strip` for Python functions: bytecode for sources that ship
//! without any, and extension modules without debug symbols, both written to temporary
//! folders in the output folder so the input is never touched and the zip writer (and its
//! cache) reads the bytes that ship like any other file.
//!
//! Both use local tools (`python3.X`, `strip`); when the tool is missing the build goes on
//! without that step and a note says so, since neither changes what the function does.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rayon::prelude::*;

use super::pyc;
use crate::error::{Error, Result};
use crate::model::{Inventory, Owner};
use crate::package::Staged;
use crate::package::zip::Entry;

pub use crate::ecosystem::Stage as Options;

/// Files per `python3.X` process: a fixed number, not one per core, so that the same input is
/// always compiled in the same batches (marshal's output can depend on what a process has
/// compiled before) and the pycs are the same bytes on every machine with that interpreter.
const COMPILE_BATCH: usize = 256;

/// Compiles each job `[source, destination, name]` read as JSON from stdin into an
/// unchecked-hash pyc, and prints the sources that failed (a `.py` never imported may not be
/// valid for this Python; it ships without a pyc, as before).
const COMPILE_SCRIPT: &str = "\
import json, py_compile, sys
failed = []
for source, destination, name in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile=destination, dfile=name, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except Exception:
        failed.append(source)
json.dump(failed, sys.stdout)
";

/// Applies `--compile` and `--strip` to the entries of a function (or of a layer's files read
/// from one function) of Python `version`: extension modules are pointed at stripped copies,
/// and generated pycs are appended.
pub fn stage(
    version: (u32, u32),
    options: Options,
    out: &Path,
    entries: &mut Vec<Entry>,
) -> Result<Staged> {
    let mut staged = Staged::default();
    if options.strip {
        strip(out, entries, &mut staged)?;
    }
    if options.compile {
        compile(version, out, entries, &mut staged)?;
    }
    Ok(staged)
}

fn temporary_folder(out: &Path, suffix: &str) -> Result<tempfile::TempDir> {
    crate::fs::create_dir_all(out)?;
    crate::package::output::temporary_folder(out, suffix)
}

/// `dir/name.py` → `dir/__pycache__/name.cpython-3X.pyc`.
fn pyc_path(source: &str, (major, minor): (u32, u32)) -> Option<String> {
    let stem = source.strip_suffix(".py")?;
    let (folder, stem) = match stem.rsplit_once('/') {
        Some((folder, stem)) => (format!("{folder}/"), stem),
        None => (String::new(), stem),
    };
    (!stem.is_empty()).then(|| format!("{folder}__pycache__/{stem}.cpython-{major}{minor}.pyc"))
}

/// Whether `python` runs and is the Python whose pycs start with `magic`.
fn interpreter_matches(python: &str, magic: [u8; 4]) -> bool {
    Command::new(python)
        .args([
            "-I",
            "-S",
            "-c",
            "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| {
            output.status.success() && output.stdout == hex::encode(magic).as_bytes()
        })
}

fn compile(
    version: (u32, u32),
    out: &Path,
    entries: &mut Vec<Entry>,
    staged: &mut Staged,
) -> Result<()> {
    let python = format!("python{}.{}", version.0, version.1);
    let Some(magic) = pyc::magic(version) else {
        staged.stats.compiled_pycs = Some(0);
        staged
            .stats
            .notes
            .push(format!("--compile: lamina does not know {python}'s pycs"));
        return Ok(());
    };
    let shipped: HashSet<&str> = entries.iter().map(|entry| entry.path.as_str()).collect();
    let missing: Vec<(usize, String)> = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.link_target.is_none())
        .filter_map(|(index, entry)| Some((index, pyc_path(&entry.path, version)?)))
        .filter(|(_, pyc)| !shipped.contains(pyc.as_str()))
        .collect();
    staged.stats.compiled_pycs = Some(0);
    if missing.is_empty() {
        return Ok(());
    }
    if !interpreter_matches(&python, magic) {
        staged.stats.notes.push(format!(
            "--compile: no working {python} on PATH; {} .py files ship without pycs",
            missing.len()
        ));
        return Ok(());
    }
    let folder = temporary_folder(out, "-pyc")?;
    let jobs: Vec<(usize, String, PathBuf)> = missing
        .into_iter()
        .map(|(index, pyc)| {
            (
                index,
                pyc,
                folder.path().join(format!("compiled-{index}.pyc")),
            )
        })
        .collect();
    let failed: Vec<Vec<String>> = jobs
        .par_chunks(COMPILE_BATCH)
        .map(|batch| run_compiler(&python, batch, entries))
        .collect::<Result<_>>()?;
    let failed: HashSet<String> = failed.into_iter().flatten().collect();
    let mut compiled = 0;
    for (index, pyc, destination) in jobs {
        if failed.contains(&entries[index].source.to_string_lossy().into_owned()) {
            continue;
        }
        let bytes = crate::fs::read(&destination)?;
        let header = pyc::parse_header(&bytes)
            .filter(|header| header.magic == magic && header.flags == pyc::UNCHECKED_HASH);
        if header.is_none() {
            return Err(Error::input(
                &destination,
                format!("{python} wrote a pyc that is not an unchecked-hash pyc of its version"),
            ));
        }
        staged
            .derived_from
            .insert(pyc.clone(), entries[index].path.clone());
        entries.push(Entry {
            path: pyc,
            source: destination,
            bytes: bytes.len() as u64,
            executable: false,
            link_target: None,
            stamp: None,
            header: None,
        });
        compiled += 1;
    }
    staged.stats.compiled_pycs = Some(compiled);
    if let Some(first) = failed.iter().min() {
        staged.stats.notes.push(format!(
            "--compile: {python} could not compile {} files (such as {first}); they ship without pycs",
            failed.len()
        ));
    }
    staged.folders.push(folder);
    Ok(())
}

/// Runs one `python3.X` over a batch of `(entry, pyc path, destination)` jobs; returns the
/// sources it could not compile.
fn run_compiler(
    python: &str,
    batch: &[(usize, String, PathBuf)],
    entries: &[Entry],
) -> Result<Vec<String>> {
    use std::io::Write;
    let jobs: Vec<[String; 3]> = batch
        .iter()
        .map(|(index, _, destination)| {
            let entry = &entries[*index];
            [
                entry.source.to_string_lossy().into_owned(),
                destination.to_string_lossy().into_owned(),
                // The name tracebacks show until the import system sets the real path.
                entry.path.clone(),
            ]
        })
        .collect();
    let input = serde_json::to_vec(&jobs).expect("strings serialize");
    let folder = batch[0].2.parent().unwrap_or(Path::new("."));
    let mut child = Command::new(python)
        // No user site, no environment, no pycs written for the stdlib modules it imports;
        // a fixed hash seed, so frozensets in constants marshal in the same order every time.
        .args(["-I", "-S", "-B", "-c", COMPILE_SCRIPT])
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| Error::io(folder, error))?;
    // The script reads all of stdin before it writes anything, so this cannot deadlock.
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(&input)
        .map_err(|error| Error::io(folder, error))?;
    let output = child
        .wait_with_output()
        .map_err(|error| Error::io(folder, error))?;
    if !output.status.success() {
        return Err(Error::input(
            folder,
            format!(
                "{python} failed while compiling pycs: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| {
        Error::input(
            folder,
            format!("{python} did not say which files it compiled: {error}"),
        )
    })
}

/// `--python-bytecode sourceless`: each shipped `.py` of a distribution whose pyc for the
/// target Python ships valid (rewritten unchecked-hash by `pyc::stage`, unchecked-hash
/// already, or generated by `--compile`) is replaced by that pyc at the module's own place,
/// `dir/x.pyc` for `dir/x.py` (`__init__.pyc` for a package): Python's path finder loads a
/// lone `x.pyc` as a sourceless module, and ignores a `__pycache__` pyc without its source.
/// The user's code, unowned files, a `.py` a kept link points to, and one whose `x.pyc` place
/// is taken keep their source. Returns how many modules ship sourceless.
pub fn sourceless(
    inventory: &Inventory,
    version: (u32, u32),
    entries: &mut Vec<Entry>,
    staged: &mut Staged,
) -> usize {
    let Some(magic) = pyc::magic(version) else {
        return 0;
    };
    let python = super::facts(inventory);
    let files: HashMap<&str, usize> = inventory
        .files
        .iter()
        .enumerate()
        .filter(|(_, file)| file.path.ends_with(".py") || file.path.ends_with(".pyc"))
        .map(|(index, file)| (file.path.as_str(), index))
        .collect();
    let at: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.path.as_str(), index))
        .collect();
    // A link's target as an artifact path: that file must stay where the link points.
    let linked: HashSet<String> = entries
        .iter()
        .filter_map(|entry| {
            let target = entry.link_target.as_deref()?;
            let mut parts: Vec<&str> = crate::scan::walk::parent(&entry.path)
                .split('/')
                .filter(|part| !part.is_empty())
                .collect();
            for part in target.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        parts.pop();
                    }
                    part => parts.push(part),
                }
            }
            Some(parts.join("/"))
        })
        .collect();
    let valid = |source: usize, pyc: &Entry| -> bool {
        if pyc.link_target.is_some() {
            return false;
        }
        // Rewritten by `pyc::stage`, or generated by `--compile`: unchecked-hash of `magic`.
        if pyc.header.is_some() || staged.derived_from.contains_key(&pyc.path) {
            return true;
        }
        files
            .get(pyc.path.as_str())
            .and_then(|index| python.files.get(index)?.pyc)
            .is_some_and(|facts| {
                facts.in_pycache
                    && facts.magic == magic
                    && facts.flags == pyc::UNCHECKED_HASH
                    && !facts.optimized
                    && !facts.stale
                    && facts.source == Some(source)
            })
    };
    let mut moves: Vec<(usize, usize, String)> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let Some(stem) = entry.path.strip_suffix(".py") else {
            continue;
        };
        let Some(&file) = files.get(entry.path.as_str()) else {
            continue;
        };
        if entry.link_target.is_some()
            || !matches!(inventory.files[file].owner, Owner::Package(_))
            || linked.contains(&entry.path)
        {
            continue;
        }
        let in_place = format!("{stem}.pyc");
        let Some(&pyc) = pyc_path(&entry.path, version)
            .as_deref()
            .and_then(|path| at.get(path))
        else {
            continue;
        };
        if at.contains_key(in_place.as_str()) || !valid(file, &entries[pyc]) {
            continue;
        }
        moves.push((index, pyc, in_place));
    }
    let count = moves.len();
    let mut gone = vec![false; entries.len()];
    for (source, pyc, in_place) in moves {
        staged.derived_from.remove(&entries[pyc].path);
        staged
            .derived_from
            .insert(in_place.clone(), entries[source].path.clone());
        entries[pyc].path = in_place;
        gone[source] = true;
    }
    let mut index = 0;
    entries.retain(|_| {
        index += 1;
        !gone[index - 1]
    });
    count
}

/// An extension module `--strip` may touch: a `.so` file, never one under a `*.libs/` folder
/// (auditwheel's vendored libraries, whose names and hashes other files refer to).
pub fn strippable(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    name.ends_with(".so") && !parts.iter().any(|folder| folder.ends_with(".libs"))
}

fn is_elf(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut file = crate::fs::open(path)?;
    Ok(file.read_exact(&mut magic).is_ok() && magic == *b"\x7fELF")
}

fn strip(out: &Path, entries: &mut [Entry], staged: &mut Staged) -> Result<()> {
    staged.stats.strip_saved_bytes = Some(0);
    let candidates: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.link_target.is_none() && strippable(&entry.path))
        .map(|(index, _)| index)
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let available = Command::new("strip")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        staged.stats.notes.push(format!(
            "--strip: no `strip` on PATH; {} extension modules ship as installed",
            candidates.len()
        ));
        return Ok(());
    }
    let folder = temporary_folder(out, "-strip")?;
    let results: Vec<Result<Option<(usize, PathBuf, u64)>>> = candidates
        .par_iter()
        .map(|&index| {
            let entry = &entries[index];
            if !is_elf(&entry.source)? {
                return Ok(None);
            }
            let destination = folder.path().join(format!("stripped-{index}.so"));
            // `-o` writes the stripped copy elsewhere: the input file is only read.
            let status = Command::new("strip")
                .arg("--strip-debug")
                .arg("-o")
                .arg(&destination)
                .arg(&entry.source)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|error| Error::io(&entry.source, error))?;
            if !status.success() || !destination.is_file() || !is_elf(&destination)? {
                return Ok(Some((index, PathBuf::new(), entry.bytes)));
            }
            let bytes = crate::fs::metadata(&destination)?.len();
            Ok(Some((index, destination, bytes)))
        })
        .collect();
    let mut failed = Vec::new();
    let mut saved = 0;
    for result in results {
        let Some((index, destination, bytes)) = result? else {
            continue;
        };
        let entry = &mut entries[index];
        if destination.as_os_str().is_empty() {
            failed.push(entry.path.clone());
        } else if bytes < entry.bytes {
            saved += entry.bytes - bytes;
            entry.source = destination;
            entry.stamp = None;
            entry.bytes = bytes;
        }
    }
    staged.stats.strip_saved_bytes = Some(saved);
    if let Some(first) = failed.iter().min() {
        staged.stats.notes.push(format!(
            "--strip: strip could not read {} extension modules (such as {first}); they ship as installed",
            failed.len()
        ));
    }
    staged.folders.push(folder);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyc_paths_sit_in_pycache_beside_the_source() {
        assert_eq!(
            pyc_path("pkg/mod.py", (3, 12)).as_deref(),
            Some("pkg/__pycache__/mod.cpython-312.pyc")
        );
        assert_eq!(
            pyc_path("app.py", (3, 9)).as_deref(),
            Some("__pycache__/app.cpython-39.pyc")
        );
        assert_eq!(pyc_path("pkg/data.txt", (3, 12)), None);
        assert_eq!(pyc_path("pkg/.py", (3, 12)), None);
    }

    #[test]
    fn only_extension_modules_outside_libs_folders_are_stripped() {
        assert!(strippable(
            "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
        ));
        assert!(strippable("_cffi_backend.cpython-311-x86_64-linux-gnu.so"));
        assert!(!strippable(
            "numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so"
        ));
        assert!(!strippable("pkg/.libs/libz.so"));
        assert!(!strippable("pkg/module.py"));
    }
}
