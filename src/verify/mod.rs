//! Verify: reads zips (lamina's own or anyone's) without extracting them and checks them against
//! Lambda's limits, what its extraction needs (paths, modes, links, the zip format), what its
//! runtimes can load (binaries, wheel tags, the handler) and where layers must put things.
//! `check` and `judge` serve `lamina build` (one function zip, with or without its layers);
//! `check_artifacts` serves `lamina check`.

pub mod archive;
pub mod findings;
pub mod layout;
pub mod limits;
pub mod memo;
pub mod native;
pub mod paths;
pub mod wheel;
pub mod zipcheck;

use std::collections::BTreeSet;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Arch, Finding, Runtime, Severity, Upload, Verification};
use layout::Layer;
use zipcheck::{Contents, ReadLimits};

/// What `check_artifacts` found: each function zip with its layers, and each layer.
#[derive(Debug, Clone)]
pub struct Checked {
    pub arch: Arch,
    pub functions: Vec<CheckedFunction>,
    pub layers: Vec<CheckedLayer>,
}

/// One function zip, checked with every layer attached.
#[derive(Debug, Clone)]
pub struct CheckedFunction {
    /// The zip's file name without `.zip`.
    pub name: String,
    /// The zip, as given.
    pub artifact: PathBuf,
    pub sha256: String,
    /// The runtime checked against; `None` when it was neither given nor inferable.
    pub runtime: Option<Runtime>,
    /// `flag`, or what it was inferred from.
    pub runtime_source: String,
    pub arch: Arch,
    pub handler: Option<String>,
    pub upload: Upload,
    pub zipped_bytes: u64,
    /// The function's own zip, from its central directory.
    pub unzipped_bytes: u64,
    /// The function plus every layer: what Lambda's unzipped limit applies to.
    pub total_unzipped_bytes: u64,
    pub entries: usize,
    /// Layer names, in attach order.
    pub layers: Vec<String>,
    pub limits: Vec<crate::model::LimitResult>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

/// One layer zip, checked against every function's runtime.
#[derive(Debug, Clone)]
pub struct CheckedLayer {
    pub name: String,
    pub artifact: PathBuf,
    pub sha256: String,
    pub zipped_bytes: u64,
    pub unzipped_bytes: u64,
    pub entries: usize,
    /// The functions it is attached to.
    pub functions: Vec<String>,
    pub limits: Vec<crate::model::LimitResult>,
    pub findings: Vec<Finding>,
}

/// What the checks hold an artifact to.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The function's runtime; `lamina check` infers it from the zip when it is not given.
    pub runtime: Option<Runtime>,
    pub arch: Arch,
    pub upload: Upload,
    /// Lambda's handler setting (`index.handler`); checked only when given.
    pub handler: Option<String>,
    /// Inflate every entry to check its CRC and size (`lamina check`). `build` reads every
    /// header but only the data it must look inside (binaries, links, WHEEL files): it has just
    /// computed each entry's CRC from the same bytes, and inflating them all again was most of
    /// a warm rebuild's time.
    pub read_all_data: bool,
}

/// Reads and checks one zip from memory, as `lamina check` would read it from disk: for the
/// fuzz target and property tests.
pub fn inspect_bytes(data: &[u8], limits: &ReadLimits) -> io::Result<Contents> {
    zipcheck::inspect(
        &mut io::Cursor::new(data),
        limits,
        &mut memo::Natives::default(),
    )
}

/// A zip `lamina build` wrote or left in place, as its writer knows it.
#[derive(Debug, Clone)]
pub struct Written {
    /// Of the bytes written (or remembered, for a zip left in place).
    pub sha256: String,
    /// Where what its binaries are may be remembered (`memo.rs`): the cache's file for the
    /// zip's final path; `None` without a cache.
    pub memo: Option<PathBuf>,
}

/// One zip read, to be judged alone or with others (`judge`).
#[derive(Debug, Clone)]
pub struct ReadZip {
    /// The file name without `.zip`.
    pub name: String,
    pub path: PathBuf,
    pub contents: Contents,
    pub sha256: String,
}

/// Reads one zip. A zip lamina wrote (`written`) is not hashed again, and with a memo its
/// binaries are read only when their outcomes are not remembered for its SHA-256.
pub fn read_zip(path: &Path, written: Option<&Written>, options: &Options) -> Result<ReadZip> {
    let contents = read(path, written, options)?;
    let sha256 = match written {
        Some(written) => written.sha256.clone(),
        None => sha256(path)?,
    };
    Ok(ReadZip {
        name: stem(path),
        path: path.to_path_buf(),
        contents,
        sha256,
    })
}

fn read(path: &Path, written: Option<&Written>, options: &Options) -> Result<Contents> {
    let file = crate::fs::open(path)?;
    let mut reader = KeepBuffer::new(BufReader::with_capacity(256 << 10, file));
    let limits = ReadLimits {
        all_data: options.read_all_data,
        ..ReadLimits::default()
    };
    let mut natives = match written {
        Some(Written {
            sha256,
            memo: Some(file),
        }) if !limits.all_data => memo::Natives::open(file, sha256, limits.native),
        _ => memo::Natives::default(),
    };
    let contents = zipcheck::inspect(&mut reader, &limits, &mut natives).map_err(|error| {
        if error.kind() == io::ErrorKind::InvalidData {
            Error::input(path, format!("not a readable zip: {error}"))
        } else {
            Error::io(path, error)
        }
    })?;
    natives.save();
    Ok(contents)
}

/// A buffered reader whose absolute seeks keep the buffer when the target lies inside it:
/// the checks seek to every local header in turn, and `BufReader::seek` would refill its whole
/// buffer for each (measured: 3 GB copied to check a 12,000-entry zip). It keeps its own
/// position too: `BufReader::stream_position` asks the file (an `lseek`) every time.
struct KeepBuffer<R> {
    inner: BufReader<R>,
    /// Where the next read starts; `None` after an error, until a seek asks the file again.
    position: Option<u64>,
}

impl<R> KeepBuffer<R> {
    /// `inner` reads from the start of its file.
    fn new(inner: BufReader<R>) -> Self {
        KeepBuffer {
            inner,
            position: Some(0),
        }
    }
}

impl<R: io::Read> io::Read for KeepBuffer<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buffer) {
            Ok(read) => {
                self.position = self.position.map(|position| position + read as u64);
                Ok(read)
            }
            Err(error) => {
                self.position = None;
                Err(error)
            }
        }
    }
}

impl<R: io::Read + io::Seek> io::Seek for KeepBuffer<R> {
    fn seek(&mut self, position: io::SeekFrom) -> io::Result<u64> {
        let current = match self.position.take() {
            Some(current) => current,
            None => self.inner.stream_position()?,
        };
        let at = match position {
            io::SeekFrom::Start(target) => {
                let offset = i64::try_from(target)
                    .ok()
                    .zip(i64::try_from(current).ok())
                    .map(|(target, current)| target - current);
                match offset {
                    Some(offset) => self.inner.seek_relative(offset).map(|()| target)?,
                    None => self.inner.seek(position)?,
                }
            }
            other => self.inner.seek(other)?,
        };
        self.position = Some(at);
        Ok(at)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        match self.position {
            Some(position) => Ok(position),
            None => {
                let at = self.inner.stream_position()?;
                self.position = Some(at);
                Ok(at)
            }
        }
    }
}

fn sha256(path: &Path) -> Result<String> {
    let mut file = crate::fs::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|error| Error::io(path, error))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Findings that depend on the runtime and architecture: binaries and wheel tags.
fn platform_findings(contents: &Contents, runtime: Option<Runtime>, arch: Arch) -> Vec<Finding> {
    let mut found = native::findings(
        &contents.natives,
        arch,
        runtime.map(Runtime::glibc),
        runtime.map_or("", Runtime::id),
    );
    // `wheel::check` judges only Python runtimes' wheels.
    if let Some(runtime) = runtime {
        found.extend(
            contents
                .wheels
                .iter()
                .filter_map(|(entry, text)| wheel::check(entry, text, runtime, arch)),
        );
    }
    found
}

/// Checks a function zip that `lamina build` just wrote, with no layers.
pub fn check(path: &Path, written: Option<&Written>, options: &Options) -> Result<Verification> {
    let contents = read(path, written, options)?;
    let mut found = contents.findings.clone();
    found.extend(platform_findings(&contents, options.runtime, options.arch));
    if let Some(spec) = &options.handler {
        found.extend(layout::handler(spec, options.runtime, &contents, &[]));
    }
    if let Some(runtime) = options.runtime {
        found.extend(layout::bootstrap(runtime, &contents, &[]));
    }
    let limits = limits::for_upload(
        limits::function_limits(contents.zipped_bytes, contents.unzipped_bytes),
        options.upload,
    );
    found.extend(limits::function_findings(
        &limits,
        options.upload,
        &[(stem(path), contents.unzipped_bytes)],
    ));
    findings::sort(&mut found);
    findings::cap(&mut found, &contents.unlisted);
    Ok(Verification {
        zipped_bytes: contents.zipped_bytes,
        unzipped_bytes: contents.unzipped_bytes,
        entries: contents.entries.len(),
        limits,
        findings: found,
    })
}

/// The name an artifact goes by in the report: its file name without `.zip`.
fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}

/// Infers a function's runtime from what its zip and layers hold: each ecosystem says what it
/// sees (`bootstrap`, the handler's file, its files; a version from `engines.node`, a versioned
/// layer folder or an extension module's name), and the strongest wins.
fn infer_runtime(
    function: &Contents,
    layers: &[Layer<'_>],
    handler: Option<&str>,
) -> Option<(Runtime, String)> {
    let files = function.loadable();
    let paths: Vec<&str> = std::iter::once(function)
        .chain(layers.iter().map(|layer| layer.contents))
        .flat_map(|contents| contents.entries.iter().map(|entry| entry.path.as_str()))
        .collect();
    crate::ecosystem::infer_from_zip(&crate::ecosystem::ZipView {
        files: &files,
        paths: &paths,
        handler,
        root_manifest: function.root_manifest.as_deref(),
    })
}

/// Checks function zips, each with every layer attached in the given order (`lamina check`).
/// Fails only when a file cannot be read or is not a zip; everything else is a finding.
pub fn check_artifacts(
    functions: &[PathBuf],
    layers: &[PathBuf],
    options: &Options,
) -> Result<Checked> {
    let read_layers = layers
        .iter()
        .map(|path| read_zip(path, None, options))
        .collect::<Result<Vec<_>>>()?;
    let read_functions = functions
        .iter()
        .map(|path| read_zip(path, None, options))
        .collect::<Result<Vec<_>>>()?;
    let layers: Vec<&ReadZip> = read_layers.iter().collect();
    Ok(judge(&read_functions, &layers, options))
}

/// Checks zips already read: each function with every layer attached in the given order, and
/// each layer against every function's runtime. A layer shared by many functions of a build is
/// read once and judged with each (`pipeline.rs`).
pub fn judge(functions: &[ReadZip], layers: &[&ReadZip], options: &Options) -> Checked {
    let views: Vec<Layer<'_>> = layers
        .iter()
        .map(|layer| Layer {
            name: &layer.name,
            contents: &layer.contents,
        })
        .collect();
    let layer_names: Vec<String> = layers.iter().map(|layer| layer.name.clone()).collect();
    let function_names: Vec<String> = functions
        .iter()
        .map(|function| function.name.clone())
        .collect();

    let mut runtimes = BTreeSet::new();
    let mut checked_functions = Vec::new();
    for ReadZip {
        name,
        path,
        contents,
        sha256,
    } in functions
    {
        let (runtime, runtime_source) = match options.runtime {
            Some(runtime) => (Some(runtime), "flag".to_string()),
            None => match infer_runtime(contents, &views, options.handler.as_deref()) {
                Some((runtime, source)) => (Some(runtime), source),
                None => (
                    None,
                    "unknown: no bootstrap, Python or JavaScript files".to_string(),
                ),
            },
        };
        runtimes.extend(runtime);
        let mut found = contents.findings.clone();
        found.extend(platform_findings(contents, runtime, options.arch));
        if let Some(spec) = &options.handler {
            found.extend(layout::handler(spec, runtime, contents, &views));
        }
        if let Some(runtime) = runtime {
            found.extend(layout::bootstrap(runtime, contents, &views));
        }
        let total_unzipped = layers.iter().fold(contents.unzipped_bytes, |sum, layer| {
            sum.saturating_add(layer.contents.unzipped_bytes)
        });
        let limits = limits::checked_function_limits(
            contents.zipped_bytes,
            total_unzipped,
            layers.len(),
            options.upload,
        );
        let parts: Vec<(String, u64)> = std::iter::once((name.clone(), contents.unzipped_bytes))
            .chain(layers.iter().map(|layer| {
                (
                    format!("layer {}", layer.name),
                    layer.contents.unzipped_bytes,
                )
            }))
            .collect();
        found.extend(limits::function_findings(&limits, options.upload, &parts));
        findings::sort(&mut found);
        findings::cap(&mut found, &contents.unlisted);
        let mut notes = Vec::new();
        if runtime.is_none() {
            notes.push(
                "the runtime is unknown, so glibc needs, wheel tags and layer folders were not checked; pass --runtime"
                    .to_string(),
            );
        }
        checked_functions.push(CheckedFunction {
            name: name.clone(),
            artifact: path.clone(),
            sha256: sha256.clone(),
            runtime,
            runtime_source,
            arch: options.arch,
            handler: options.handler.clone(),
            upload: options.upload,
            zipped_bytes: contents.zipped_bytes,
            unzipped_bytes: contents.unzipped_bytes,
            total_unzipped_bytes: total_unzipped,
            entries: contents.entries.len(),
            layers: layer_names.clone(),
            limits,
            findings: found,
            notes,
        });
    }

    let overwrites = layout::overwrites(&views);
    let mut checked_layers = Vec::new();
    for (layer, overwritten) in layers.iter().zip(overwrites) {
        let ReadZip {
            name,
            path,
            contents,
            sha256,
        } = layer;
        let mut found = contents.findings.clone();
        found.extend(overwritten);
        for program in &contents.programs_not_executable {
            found.push(findings::PERM_LAYER_PROGRAM_NOT_EXECUTABLE.at(
                Some(program),
                "a program in the layer's bin/ (on the function's PATH as /opt/bin) without the execute bit: running it fails with EACCES".to_string(),
            ));
        }
        // A layer serves every function: it is checked against each one's runtime.
        for &runtime in &runtimes {
            found.extend(platform_findings(contents, Some(runtime), options.arch));
            found.extend(layout::layer_layout(contents, runtime));
        }
        if runtimes.is_empty() {
            found.extend(platform_findings(contents, None, options.arch));
        }
        let limits = limits::layer_limits(
            contents.zipped_bytes,
            contents.unzipped_bytes,
            options.upload,
        );
        found.extend(limits::layer_findings(&limits, options.upload));
        findings::sort(&mut found);
        found.dedup();
        findings::cap(&mut found, &contents.unlisted);
        checked_layers.push(CheckedLayer {
            name: name.clone(),
            artifact: path.clone(),
            sha256: sha256.clone(),
            zipped_bytes: contents.zipped_bytes,
            unzipped_bytes: contents.unzipped_bytes,
            entries: contents.entries.len(),
            functions: function_names.clone(),
            limits,
            findings: found,
        });
    }
    Checked {
        arch: options.arch,
        functions: checked_functions,
        layers: checked_layers,
    }
}

/// What verify can say of a function before its zip exists (`lamina scan`).
#[derive(Debug, Clone)]
pub struct Planned {
    /// An estimate of the zip's size from the kept files' types.
    pub projected_zipped_bytes: u64,
    /// The kept files' bytes.
    pub unzipped_bytes: u64,
    /// Only what is measured: the zipped size is an estimate until `build` writes the zip, so
    /// it neither fails nor warns.
    pub limits: Vec<crate::model::LimitResult>,
    /// The kept binaries and `WHEEL` tags, judged by what scan read of them (a binary's glibc
    /// needs are read only from a zip), with the ids and messages `build` would give.
    pub findings: Vec<Finding>,
}

/// Judges the files a plan keeps, before any zip is written.
pub fn planned(inventory: &crate::model::Inventory, plan: &crate::model::Plan) -> Planned {
    let kept = |index: usize| plan.files[index].keep;
    let (mut projected, mut unzipped) = (22u64, 0u64);
    for (file, decision) in inventory.files.iter().zip(&plan.files) {
        if decision.keep {
            projected += crate::package::estimate_zipped(&file.path, file.bytes);
            unzipped += file.bytes;
        }
    }
    let limits = limits::function_limits(projected, unzipped)
        .into_iter()
        .filter(|limit| limit.id == "unzipped")
        .collect();
    let function = &inventory.function;
    let natives: Vec<native::Native> = inventory
        .platform
        .binaries
        .iter()
        .filter(|(index, _)| kept(*index))
        .map(|(index, format)| native::Native {
            entry: inventory.files[*index].path.clone(),
            format: format.clone(),
            complete: false,
        })
        .collect();
    let mut found = native::findings(&natives, function.arch, None, function.runtime.id());
    for (index, tags) in &inventory.platform.wheels {
        if !kept(*index) {
            continue;
        }
        let tags: Vec<(String, String, String)> = tags
            .iter()
            .filter_map(|tag| {
                let mut parts = tag.splitn(3, '-');
                Some((
                    parts.next()?.to_string(),
                    parts.next()?.to_string(),
                    parts.next()?.to_string(),
                ))
            })
            .collect();
        let entry = &inventory.files[*index].path;
        found.extend(wheel::check_tags(
            entry,
            &tags,
            function.runtime,
            function.arch,
        ));
    }
    findings::sort(&mut found);
    Planned {
        projected_zipped_bytes: projected,
        unzipped_bytes: unzipped,
        limits,
        findings: found,
    }
}

/// Whether any finding fails the check.
pub fn any_error(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|finding| finding.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Seek, SeekFrom};

    use super::*;

    #[test]
    fn a_kept_buffer_reads_and_seeks_as_the_file_does() {
        let data: Vec<u8> = (0..200_000u32).map(|n| (n * 7 % 251) as u8).collect();
        let mut plain = Cursor::new(data.clone());
        let mut kept = KeepBuffer::new(BufReader::with_capacity(4096, Cursor::new(data)));
        // Forwards inside and past the buffer, backwards, from the end, and relative.
        let moves = [
            SeekFrom::Start(10),
            SeekFrom::Start(3000),
            SeekFrom::Start(100),
            SeekFrom::Start(150_000),
            SeekFrom::End(-20_000),
            SeekFrom::Current(-100),
            SeekFrom::Current(2000),
            SeekFrom::Start(0),
        ];
        for (step, position) in moves.into_iter().enumerate() {
            assert_eq!(
                kept.seek(position).unwrap(),
                plain.seek(position).unwrap(),
                "{step}"
            );
            let (mut a, mut b) = (vec![0; 1500 + step * 700], vec![0; 1500 + step * 700]);
            kept.read_exact(&mut a).unwrap();
            plain.read_exact(&mut b).unwrap();
            assert_eq!(a, b, "{step}");
            assert_eq!(
                kept.stream_position().unwrap(),
                plain.stream_position().unwrap()
            );
        }
    }
}
