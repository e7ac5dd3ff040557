//! What each runtime ships besides the language: the AWS SDK (for JavaScript v3 on Node.js,
//! boto3 and its dependencies on Python), and the least version of it lamina counts on.
//!
//! AWS no longer publishes the SDK version of each runtime: its Python and Node.js pages say
//! the version "depends on the runtime version and your AWS Region" and tell users to print
//! it from a function (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html,
//! "Runtime-included SDK versions"). Runtime updates only raise it, so lamina holds
//! requirements to the floors below: the versions of AWS's last published table.

use crate::lambda::{Language, Runtime};

/// Distributions every Lambda Python runtime ships (normalised names).
pub const PYTHON_SDK: [&str; 7] = [
    "boto3",
    "botocore",
    "jmespath",
    "python-dateutil",
    "s3transfer",
    "six",
    "urllib3",
];

/// The least version of the SDK every Python runtime has shipped since AWS's runtime table of
/// 2022-01 (boto3-1.20.32, botocore-1.23.32 on python3.7 to python3.9; later runtimes launched
/// with newer ones, and runtime updates only raise them). lamina holds requirements to this
/// floor: a kept distribution that asks for more keeps
/// the runtime's SDK in the zip even with `--drop-runtime-sdk`.
pub const PYTHON_SDK_FLOORS: [(&str, &str); 2] = [("boto3", "1.20.32"), ("botocore", "1.23.32")];

/// What every Lambda Python runtime can import without the function shipping it: the SDK
/// (boto3 and its dependencies) and the runtime interface client.
pub const PYTHON_SDK_MODULES: [&str; 8] = [
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
    "awslambdaric",
];

/// The least SDK for JavaScript v3 every Node runtime lamina supports has shipped: what AWS's
/// runtime table gave for nodejs18.x in 2023 (3.188.0); later runtimes launched with newer
/// ones, and runtime updates only raise them.
pub const NODE_SDK_FLOOR: (u64, u64, u64) = (3, 188, 0);

/// Whether the runtime ships a package or distribution (normalised name): Node.js runtimes the
/// SDK for JavaScript v3 (`@aws-sdk/*` and its `@smithy/*` parts), Python runtimes boto3 and
/// its dependencies.
pub fn provides(runtime: Runtime, name: &str) -> bool {
    match runtime.language() {
        Language::Python => PYTHON_SDK.contains(&name),
        Language::Node => name.starts_with("@aws-sdk/") || name.starts_with("@smithy/"),
        Language::Custom => false,
    }
}
