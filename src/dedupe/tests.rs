//! Layer planning on synthetic functions: sizes and digests are made up, so the limits can be
//! reached without writing hundreds of MiB.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::model::{
    Decision, Dependency, DependencyKind, EcosystemInventory, EcosystemPlan, FileEntry, Function,
    Handler, Imports, Language, Origin, Owner, Package, PackageClass, PackageDecision, PackageId,
    PackageKind, ShakeMode,
};

/// A package of a synthetic function: name, content tag (same tag, same bytes), size, deps.
struct Spec<'a> {
    name: &'a str,
    content: &'a str,
    bytes: u64,
    dependencies: &'a [&'a str],
}

fn spec<'a>(name: &'a str, content: &'a str, bytes: u64, dependencies: &'a [&'a str]) -> Spec<'a> {
    Spec {
        name,
        content,
        bytes,
        dependencies,
    }
}

struct Built {
    inventory: Inventory,
    plan: Plan,
    digests: Vec<Option<[u8; 32]>>,
}

fn function(name: &str, runtime: Runtime, packages: &[Spec<'_>], paths: &[(&str, &str)]) -> Built {
    let mut files = Vec::new();
    let mut digests = Vec::new();
    let mut entries = Vec::new();
    let python = runtime.language() == Language::Python;
    for (index, package) in packages.iter().enumerate() {
        let folder = if python {
            format!("{}-1.0.dist-info", package.name)
        } else {
            format!("node_modules/{}", package.name)
        };
        let mut owned = Vec::new();
        let mut add = |path: String, bytes: u64, content: &str| {
            owned.push(files.len());
            digests.push(Some(hash_parts([content.as_bytes(), path.as_bytes()])));
            files.push(FileEntry {
                stamp: None,
                path,
                source: PathBuf::from("/nowhere"),
                bytes,
                executable: false,
                link_target: None,
                owner: Owner::Package(PackageId(index)),
            });
        };
        if python {
            add(format!("{folder}/METADATA"), 100, package.content);
            add(
                format!("{}/core.py", package.name),
                package.bytes,
                package.content,
            );
        } else {
            add(format!("{folder}/index.js"), package.bytes, package.content);
            add(format!("{folder}/package.json"), 50, package.content);
        }
        entries.push((folder, owned));
    }
    // Extra files with explicit paths: (path, owner package name or "user").
    for (path, owner) in paths {
        let owner = packages
            .iter()
            .position(|package| package.name == *owner)
            .map_or(Owner::User, |index| Owner::Package(PackageId(index)));
        if let Owner::Package(id) = owner {
            entries[id.0].1.push(files.len());
        }
        digests.push(Some(hash_parts([path.as_bytes()])));
        files.push(FileEntry {
            stamp: None,
            path: path.to_string(),
            source: PathBuf::from("/nowhere"),
            bytes: 10,
            executable: false,
            link_target: None,
            owner,
        });
    }
    let packages_model: Vec<Package> = packages
        .iter()
        .zip(entries)
        .enumerate()
        .map(|(index, (package, (folder, owned)))| Package {
            id: PackageId(index),
            name: package.name.to_string(),
            version: "1.0.0".to_string(),
            path: folder,
            kind: if python {
                PackageKind::Python(Box::default())
            } else {
                PackageKind::Npm(Box::default())
            },
            lock: None,
            dependencies: package
                .dependencies
                .iter()
                .map(|dependency| Dependency {
                    name: dependency.to_string(),
                    kind: DependencyKind::Production,
                    target: packages
                        .iter()
                        .position(|other| other.name == *dependency)
                        .map(PackageId),
                })
                .collect(),
            files: owned,
            workspace: false,
        })
        .collect();
    let plan = Plan {
        mode: ShakeMode::Deps,
        files: files
            .iter()
            .map(|_| Decision {
                keep: true,
                reason: Reason::InKeptPackage,
            })
            .collect(),
        packages: packages_model
            .iter()
            .map(|_| PackageDecision {
                class: PackageClass::Production,
                keep: true,
                reason: Reason::Needed("test".into()),
            })
            .collect(),
        notes: Vec::new(),
        ecosystem: if python {
            EcosystemPlan::Python {
                rewrite_pycs: Vec::new(),
                traced: BTreeMap::new(),
            }
        } else {
            EcosystemPlan::Node {
                traced: BTreeMap::new(),
            }
        },
    };
    Built {
        inventory: Inventory {
            function: Function {
                name: name.to_string(),
                root: PathBuf::from("/nowhere"),
                runtime,
                runtime_origin: Origin::Flag,
                arch: Arch::X86_64,
                handler: Handler {
                    spec: "index.handler".into(),
                    file: "index.js".into(),
                    origin: Origin::Flag,
                },
            },
            files,
            packages: packages_model,
            imports: Imports::default(),
            output_folder: None,
            warnings: Vec::new(),
            platform: Default::default(),
            ecosystem: if python {
                EcosystemInventory::Python(Box::default())
            } else {
                EcosystemInventory::Node(Box::default())
            },
            scan_cache: Default::default(),
        },
        plan,
        digests,
    }
}

fn plan(functions: &[Built], options: &Options) -> LayerPlan {
    let inputs: Vec<Input<'_>> = functions
        .iter()
        .map(|built| Input {
            inventory: &built.inventory,
            plan: &built.plan,
            digests: &built.digests,
        })
        .collect();
    plan_layers(&inputs, options)
}

fn layer_packages(plan: &LayerPlan) -> Vec<Vec<String>> {
    plan.layers
        .iter()
        .map(|layer| layer.packages.clone())
        .collect()
}

const NODE: Runtime = Runtime::Nodejs20;

#[test]
fn identical_packages_share_a_layer_and_leave_the_functions() {
    let a = function(
        "a",
        NODE,
        &[spec("left", "x", 1000, &[]), spec("only-a", "y", 10, &[])],
        &[],
    );
    let b = function("b", NODE, &[spec("left", "x", 1000, &[])], &[]);
    let planned = plan(&[a, b], &Options::default());
    assert_eq!(layer_packages(&planned), [["left@1.0.0"]]);
    let layer = &planned.layers[0];
    assert!(layer.name.starts_with("nodejs20.x-x86_64-") && layer.name.len() == 18 + 12);
    assert_eq!(layer.functions, [0, 1]);
    assert!(
        layer
            .files
            .iter()
            .all(|file| file.path.starts_with("nodejs/node_modules/left/"))
    );
    assert_eq!(planned.attached, [vec![0], vec![0]]);
    // The moved files leave both plans, with the layer as the reason.
    for function_plan in &planned.plans {
        assert!(!function_plan.files[0].keep);
        assert_eq!(
            function_plan.files[0].reason,
            Reason::Layer(layer.name.clone())
        );
    }
    assert!(planned.plans[0].files[2].keep, "only-a stays in a");
    assert_eq!(layer.saved_bytes, 1050);
}

#[test]
fn the_same_version_with_different_content_is_not_shared() {
    let a = function("a", NODE, &[spec("patched", "original", 1000, &[])], &[]);
    let b = function(
        "b",
        NODE,
        &[spec("patched", "patch-package", 1000, &[])],
        &[],
    );
    assert!(plan(&[a, b], &Options::default()).layers.is_empty());
}

#[test]
fn a_node_package_moves_only_with_its_whole_closure() {
    // `top` is identical, but its dependency `dep` differs: moving `top` would make it resolve
    // the layer's `dep` (or none), so neither moves.
    let a = function(
        "a",
        NODE,
        &[spec("top", "t", 500, &["dep"]), spec("dep", "d1", 500, &[])],
        &[],
    );
    let b = function(
        "b",
        NODE,
        &[spec("top", "t", 500, &["dep"]), spec("dep", "d2", 500, &[])],
        &[],
    );
    assert!(plan(&[a, b], &Options::default()).layers.is_empty());
    // With the same dependency, both move together.
    let a = function(
        "a",
        NODE,
        &[spec("top", "t", 500, &["dep"]), spec("dep", "d1", 500, &[])],
        &[],
    );
    let b = function(
        "b",
        NODE,
        &[spec("top", "t", 500, &["dep"]), spec("dep", "d1", 500, &[])],
        &[],
    );
    assert_eq!(
        layer_packages(&plan(&[a, b], &Options::default())),
        [["dep@1.0.0", "top@1.0.0"]]
    );
}

#[test]
fn a_nested_package_is_not_hoisted_and_does_not_move_alone() {
    let paths = [("node_modules/top/node_modules/inner/index.js", "top")];
    let a = function("a", NODE, &[spec("top", "t", 500, &[])], &paths);
    let b = function("b", NODE, &[spec("top", "t", 500, &[])], &paths);
    let planned = plan(&[a, b], &Options::default());
    // The nested folder moves inside its hoisted parent, at the same relative place.
    assert!(
        planned.layers[0]
            .files
            .iter()
            .any(|file| file.path == "nodejs/node_modules/top/node_modules/inner/index.js")
    );
}

#[test]
fn layers_never_push_a_function_over_the_unzipped_limit() {
    // a and b share `big1`, c and d share `big2`, and every function shares `small`. A single
    // layer of everything shared would give each function 300 MB; the plan keeps them apart.
    const MB: u64 = 1_000_000;
    let options = Options {
        max_layers: 1,
        zipped_limit: u64::MAX,
        ..Options::default()
    };
    let functions = [
        function(
            "a",
            NODE,
            &[
                spec("big1", "1", 150 * MB, &[]),
                spec("small", "s", MB, &[]),
            ],
            &[],
        ),
        function(
            "b",
            NODE,
            &[
                spec("big1", "1", 150 * MB, &[]),
                spec("small", "s", MB, &[]),
            ],
            &[],
        ),
        function(
            "c",
            NODE,
            &[
                spec("big2", "2", 150 * MB, &[]),
                spec("small", "s", MB, &[]),
            ],
            &[],
        ),
        function(
            "d",
            NODE,
            &[
                spec("big2", "2", 150 * MB, &[]),
                spec("small", "s", MB, &[]),
            ],
            &[],
        ),
    ];
    let planned = plan(&functions, &options);
    for (index, attached) in planned.attached.iter().enumerate() {
        assert!(attached.len() <= 1, "function {index}: {attached:?}");
        let own = planned.plans[index].kept_bytes(&functions[index].inventory);
        let layers: u64 = attached
            .iter()
            .map(|&l| planned.layers[l].unzipped_bytes)
            .sum();
        assert!(
            own + layers <= UNZIPPED_FOR_TEST,
            "function {index}: {}",
            own + layers
        );
    }
    // The big packages are shared (they save the most); `small` gave way.
    let packages = layer_packages(&planned);
    assert!(
        packages
            .iter()
            .any(|layer| layer.contains(&"big1@1.0.0".to_string()))
    );
    assert!(
        packages
            .iter()
            .any(|layer| layer.contains(&"big2@1.0.0".to_string()))
    );
    assert!(
        !packages
            .iter()
            .flatten()
            .any(|package| package == "small@1.0.0")
    );
    // Every function that keeps `small` hears why it did not move, and only those.
    for notes in &planned.notes {
        assert!(
            notes
                .iter()
                .any(|note| note.contains("small") && note.contains("1 layers per function")),
            "{notes:?}"
        );
    }
}

const UNZIPPED_FOR_TEST: u64 = crate::lambda::limits::UNZIPPED;

#[test]
fn six_candidate_groups_fit_in_five_layers() {
    // Function `hub` shares a different package with each of six others: six signatures,
    // so six layers for `hub` until two are merged.
    let others = ["p1", "p2", "p3", "p4", "p5", "p6"];
    let hub_specs: Vec<Spec<'_>> = others
        .iter()
        .enumerate()
        .map(|(index, name)| spec(name, name, 1000 * (index as u64 + 1), &[]))
        .collect();
    let mut functions = vec![function("hub", NODE, &hub_specs, &[])];
    for (index, name) in others.iter().enumerate() {
        functions.push(function(
            &format!("f{index}"),
            NODE,
            &[spec(name, name, 1000 * (index as u64 + 1), &[])],
            &[],
        ));
    }
    let planned = plan(&functions, &Options::default());
    assert!(planned.attached.iter().all(|attached| attached.len() <= 5));
    assert_eq!(planned.attached[0].len(), 5);
    // Merging kept every package shared: nothing went back to a function.
    assert_eq!(
        planned
            .layers
            .iter()
            .map(|layer| layer.packages.len())
            .sum::<usize>(),
        6
    );
    // The merge chose the two smallest, so the others carry the fewest extra bytes.
    assert!(
        layer_packages(&planned).contains(&vec!["p1@1.0.0".to_string(), "p2@1.0.0".to_string()])
    );
}

#[test]
fn runtimes_and_languages_get_separate_layers() {
    let a = function("a", Runtime::Nodejs20, &[spec("x", "x", 100, &[])], &[]);
    let b = function("b", Runtime::Nodejs22, &[spec("x", "x", 100, &[])], &[]);
    assert!(plan(&[a, b], &Options::default()).layers.is_empty());
}

#[test]
fn a_python_namespace_splits_only_without_init() {
    const PY: Runtime = Runtime::Python312;
    // `google/` is a namespace shared by two distributions; only `protobuf` is shared.
    let paths = [
        ("google/protobuf/__init__.py", "protobuf"),
        ("google/api/__init__.py", "api"),
    ];
    let a = function(
        "a",
        PY,
        &[spec("protobuf", "p", 100, &[]), spec("api", "a1", 100, &[])],
        &paths,
    );
    let b = function(
        "b",
        PY,
        &[spec("protobuf", "p", 100, &[]), spec("api", "a2", 100, &[])],
        &paths,
    );
    let planned = plan(&[a, b], &Options::default());
    assert_eq!(layer_packages(&planned), [["protobuf@1.0.0"]]);
    assert!(
        planned.layers[0]
            .files
            .iter()
            .all(|file| file.path.starts_with("python/"))
    );
    // No __init__.py is ever added: the layer holds exactly the distribution's files.
    assert!(
        !planned.layers[0]
            .files
            .iter()
            .any(|file| file.path == "python/google/__init__.py")
    );

    // With `google/__init__.py` (a regular package), splitting would hide one half.
    let paths = [
        ("google/__init__.py", "api"),
        ("google/protobuf/__init__.py", "protobuf"),
        ("google/api/__init__.py", "api"),
    ];
    let a = function(
        "a",
        PY,
        &[spec("protobuf", "p", 100, &[]), spec("api", "a1", 100, &[])],
        &paths,
    );
    let b = function(
        "b",
        PY,
        &[spec("protobuf", "p", 100, &[]), spec("api", "a2", 100, &[])],
        &paths,
    );
    let planned = plan(&[a, b], &Options::default());
    assert!(planned.layers.is_empty());
    assert!(
        planned
            .notes
            .iter()
            .flatten()
            .any(|note| note.contains("google/ is a regular package"))
    );
}

#[test]
fn pth_files_go_to_the_site_packages_folder() {
    const PY: Runtime = Runtime::Python312;
    let paths = [("distutils-precedence.pth", "setuptools")];
    let a = function("a", PY, &[spec("setuptools", "s", 100, &[])], &paths);
    let b = function("b", PY, &[spec("setuptools", "s", 100, &[])], &paths);
    let planned = plan(&[a, b], &Options::default());
    assert!(planned.layers[0].files.iter().all(|file| {
        file.path
            .starts_with("python/lib/python3.12/site-packages/")
    }));
}

#[test]
fn min_functions_raises_the_bar() {
    let make = || {
        vec![
            function("a", NODE, &[spec("x", "x", 100, &[])], &[]),
            function("b", NODE, &[spec("x", "x", 100, &[])], &[]),
        ]
    };
    assert_eq!(plan(&make(), &Options::default()).layers.len(), 1);
    let options = Options {
        min_functions: 3,
        ..Options::default()
    };
    assert!(plan(&make(), &options).layers.is_empty());
}
