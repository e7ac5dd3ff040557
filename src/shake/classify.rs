//! Package classification over a dependency graph, for every ecosystem: from what the used
//! roots reach, with and without entering the runtime's SDK, each package is production,
//! runtime-provided, or one of its ecosystem's unneeded classes. How reachability is computed
//! (Node's resolved edges, Python's `Requires-Dist` markers, extras and entry points) stays in
//! each ecosystem's room.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use crate::lambda::Runtime;
use crate::lambda::sdk::provides;
use crate::model::{Package, PackageClass, PackageDecision, PackageId, Reason};

/// Packages a walk reached, each with what brought it in.
pub trait Reached {
    /// Why the walk reached `id`, or `None` when it did not.
    fn why(&self, id: PackageId) -> Option<&str>;
}

impl<S: BuildHasher> Reached for HashMap<PackageId, String, S> {
    fn why(&self, id: PackageId) -> Option<&str> {
        self.get(&id).map(String::as_str)
    }
}

impl Reached for BTreeMap<PackageId, String> {
    fn why(&self, id: PackageId) -> Option<&str> {
        self.get(&id).map(String::as_str)
    }
}

/// How an ecosystem words its reasons.
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    /// What the ecosystem calls its packages ("packages", "distributions"), in "only needed by
    /// {packages} {runtime} ships".
    pub packages: &'static str,
    /// Whether a package the runtime ships says what reached it ("{runtime} ships it ({why})").
    pub sdk_says_why: bool,
}

/// The class, keep and reason of every package (parallel to `packages`).
///
/// A package the used roots reach without entering the runtime's SDK is production and ships;
/// one they reach only through the SDK (or an SDK package itself) is runtime-provided and ships
/// unless `drop_runtime_sdk`; any other gets the class and reason `unneeded` gives it, and
/// goes.
pub fn decide(
    runtime: Runtime,
    packages: &[Package],
    without_sdk: &impl Reached,
    with_sdk: &impl Reached,
    drop_runtime_sdk: bool,
    wording: Wording,
    mut unneeded: impl FnMut(&Package) -> (PackageClass, String),
) -> Vec<PackageDecision> {
    packages
        .iter()
        .map(|package| {
            let id = package.id;
            if let Some(why) = without_sdk.why(id) {
                return PackageDecision {
                    class: PackageClass::Production,
                    keep: true,
                    reason: Reason::Needed(why.to_string()),
                };
            }
            if let Some(why) = with_sdk.why(id) {
                let what = if !provides(runtime, &package.name) {
                    format!(
                        "runtime-provided: only needed by {} {runtime} ships ({why})",
                        wording.packages
                    )
                } else if wording.sdk_says_why {
                    format!("runtime-provided: {runtime} ships it ({why})")
                } else {
                    format!("runtime-provided: {runtime} ships it")
                };
                return PackageDecision {
                    class: PackageClass::RuntimeProvided,
                    keep: !drop_runtime_sdk,
                    reason: if drop_runtime_sdk {
                        Reason::Unneeded(what)
                    } else {
                        Reason::Needed(format!("{what}; kept without --drop-runtime-sdk"))
                    },
                };
            }
            let (class, why) = unneeded(package);
            PackageDecision {
                class,
                keep: false,
                reason: Reason::Unneeded(why),
            }
        })
        .collect()
}

/// With `--drop-runtime-sdk`: ships again each dropped package of `kept` (an SDK package a
/// kept one requires above the runtime's known SDK floor, and what the ecosystem says it
/// needs), with its why; its class stays.
pub fn keep_above_floor(
    decisions: &mut [PackageDecision],
    kept: impl IntoIterator<Item = (PackageId, String)>,
) {
    for (id, why) in kept {
        let decision = &mut decisions[id.0];
        if !decision.keep {
            decision.keep = true;
            decision.reason = Reason::Needed(why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PackageKind;

    /// Packages named `names`, with ids in order and no files or edges.
    fn packages(names: &[&str]) -> Vec<Package> {
        names
            .iter()
            .enumerate()
            .map(|(index, name)| Package {
                id: PackageId(index),
                name: name.to_string(),
                version: "1.0.0".to_string(),
                path: format!("node_modules/{name}"),
                kind: PackageKind::Npm(Box::default()),
                lock: None,
                dependencies: Vec::new(),
                files: Vec::new(),
                workspace: false,
            })
            .collect()
    }

    fn reached(entries: &[(usize, &str)]) -> HashMap<PackageId, String> {
        entries
            .iter()
            .map(|(id, why)| (PackageId(*id), why.to_string()))
            .collect()
    }

    const NODE: Wording = Wording {
        packages: "packages",
        sdk_says_why: false,
    };

    /// `app` is used directly; `@aws-sdk/client-s3` only through the used roots' SDK walk, and
    /// `tslib` only through it; `left-pad` is reached by nothing.
    fn classify(drop_runtime_sdk: bool, wording: Wording) -> Vec<PackageDecision> {
        let packages = packages(&["app", "@aws-sdk/client-s3", "tslib", "left-pad"]);
        let without_sdk = reached(&[(0, "imported by your code")]);
        let with_sdk = reached(&[
            (0, "imported by your code"),
            (1, "dependency of app@1.0.0"),
            (2, "dependency of @aws-sdk/client-s3@1.0.0"),
        ]);
        decide(
            Runtime::Nodejs22,
            &packages,
            &without_sdk,
            &with_sdk,
            drop_runtime_sdk,
            wording,
            |package| {
                (
                    PackageClass::Extraneous,
                    format!("nothing needs {}", package.name),
                )
            },
        )
    }

    #[test]
    fn a_package_reached_without_the_sdk_is_production() {
        let decisions = classify(true, NODE);
        assert_eq!(decisions[0].class, PackageClass::Production);
        assert!(decisions[0].keep);
        assert_eq!(
            decisions[0].reason,
            Reason::Needed("imported by your code".to_string())
        );
    }

    #[test]
    fn a_package_reached_only_through_the_sdk_is_runtime_provided_and_kept_by_default() {
        let decisions = classify(false, NODE);
        assert_eq!(decisions[1].class, PackageClass::RuntimeProvided);
        assert!(decisions[1].keep);
        assert_eq!(
            decisions[1].reason,
            Reason::Needed(
                "runtime-provided: nodejs22.x ships it; kept without --drop-runtime-sdk"
                    .to_string()
            )
        );
        assert_eq!(decisions[2].class, PackageClass::RuntimeProvided);
        assert_eq!(
            decisions[2].reason,
            Reason::Needed(
                "runtime-provided: only needed by packages nodejs22.x ships (dependency of @aws-sdk/client-s3@1.0.0); kept without --drop-runtime-sdk"
                    .to_string()
            )
        );
    }

    #[test]
    fn drop_runtime_sdk_drops_what_is_reached_only_through_the_sdk() {
        let decisions = classify(true, NODE);
        for decision in &decisions[1..=2] {
            assert_eq!(decision.class, PackageClass::RuntimeProvided);
            assert!(!decision.keep);
        }
        assert_eq!(
            decisions[1].reason,
            Reason::Unneeded("runtime-provided: nodejs22.x ships it".to_string())
        );
    }

    #[test]
    fn the_wording_names_the_ecosystem_and_may_say_why_for_the_sdk_itself() {
        let python = Wording {
            packages: "distributions",
            sdk_says_why: true,
        };
        let decisions = classify(true, python);
        assert_eq!(
            decisions[1].reason,
            Reason::Unneeded(
                "runtime-provided: nodejs22.x ships it (dependency of app@1.0.0)".to_string()
            )
        );
        assert_eq!(
            decisions[2].reason,
            Reason::Unneeded(
                "runtime-provided: only needed by distributions nodejs22.x ships (dependency of @aws-sdk/client-s3@1.0.0)"
                    .to_string()
            )
        );
    }

    #[test]
    fn a_package_reached_by_nothing_gets_the_ecosystems_class_and_goes() {
        let decisions = classify(false, NODE);
        assert_eq!(decisions[3].class, PackageClass::Extraneous);
        assert!(!decisions[3].keep);
        assert_eq!(
            decisions[3].reason,
            Reason::Unneeded("nothing needs left-pad".to_string())
        );
    }

    #[test]
    fn above_the_floor_a_dropped_package_ships_again_and_keeps_its_class() {
        let mut decisions = classify(true, NODE);
        keep_above_floor(
            &mut decisions,
            [
                (PackageId(0), "asked again".to_string()),
                (PackageId(1), "asked above the floor".to_string()),
            ],
        );
        // A package already kept keeps its reason.
        assert_eq!(
            decisions[0].reason,
            Reason::Needed("imported by your code".to_string())
        );
        assert_eq!(decisions[1].class, PackageClass::RuntimeProvided);
        assert!(decisions[1].keep);
        assert_eq!(
            decisions[1].reason,
            Reason::Needed("asked above the floor".to_string())
        );
        assert!(!decisions[2].keep);
    }
}
