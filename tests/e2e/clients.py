"""What the AWS clients of this test run can do, and a clear failure where they cannot.

The end-to-end tests run with whichever boto3 and aws CLI the machine has (tests/CMakeLists.txt
picks them): a current pip-installed boto3, or Debian 12's python3-boto3 (boto3 1.26 / botocore
1.29, early 2023) and awscli (v2.9). Tests are written to pass with both. Where a test needs
something an older botocore's service models lack (an operation, a parameter, a response member, a
config option), it says so up front:

    require(self, KMS_ROTATION)      # fails (not skips) with the botocore version it needs

The check looks at the installed models themselves, not at version numbers, so a distribution's
patched botocore is judged by what it can do; the version in the message is where the feature
first shipped in botocore, so that the reader knows what to install.
"""

from typing import NamedTuple, Optional, Tuple

import boto3
import botocore
import botocore.config
import botocore.session

# The botocore with which the whole suite is known to pass.
VERIFIED_BOTOCORE = "1.43.11"

_session = botocore.session.get_session()


class Need(NamedTuple):
    """Something a test needs from botocore's models: `path` in the input or output shape of
    `service`'s `operation`, dotted through structures and lists ("Rotations.KeyMaterialId");
    path None: the operation itself."""
    service: str
    operation: str
    direction: str = "input"  # or "output"
    path: Optional[str] = None


class Feature(NamedTuple):
    what: str                        # in words, for the failure message
    needs: Tuple[Need, ...] = ()     # every one must be modelled
    since: Optional[str] = None      # the first botocore that has it, where known
    aws_update: Optional[str] = None  # else the date of AWS's API update that added it
    optional: Tuple[Need, ...] = ()  # must be modelled as optional (not required) input members
    config: Tuple[str, ...] = ()     # botocore.config.Config options

    def wanted(self) -> str:
        if self.since:
            return f"botocore >= {self.since}"
        if self.aws_update:
            return (f"a botocore released after AWS's API update of {self.aws_update} "
                    f"({VERIFIED_BOTOCORE} has it)")
        return f"a newer botocore ({VERIFIED_BOTOCORE} has it)"


def _operation(service, operation):
    model = _session.get_service_model(service)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)


def _shape_at(need: Need):
    op = _operation(need.service, need.operation)
    if op is None:
        return None, None
    shape = op.input_shape if need.direction == "input" else op.output_shape
    parent = None
    for name in (need.path or "").split(".") if need.path else []:
        while shape is not None and shape.type_name == "list":
            shape = shape.member
        if shape is None or shape.type_name != "structure" or name not in shape.members:
            return parent, None
        parent, shape = shape, shape.members[name]
    return parent, (shape if need.path else op)


def models(need: Need) -> bool:
    """True if the installed botocore models `need`."""
    return _shape_at(need)[1] is not None


def _optional(need: Need) -> bool:
    parent, shape = _shape_at(need)
    if shape is None:
        return False
    name = need.path.split(".")[-1]
    return name not in getattr(parent, "required_members", [])


def missing(feature: Feature):
    """The parts of `feature` this botocore lacks, in words (empty: it has them all)."""
    gaps = []
    for need in feature.needs:
        if not models(need):
            where = f"{need.service} {need.operation}" + (f" {need.direction} {need.path}"
                                                           if need.path else "")
            gaps.append(f"no {where}")
    for need in feature.optional:
        if not _optional(need):
            gaps.append(f"{need.service} {need.operation} requires {need.path}")
    for option in feature.config:
        if option not in botocore.config.Config.OPTION_DEFAULTS:
            gaps.append(f"no Config option {option}")
    return gaps


def has(feature: Feature) -> bool:
    return not missing(feature)


def describe_clients() -> str:
    return (f"boto3 {boto3.__version__} / botocore {botocore.__version__} "
            f"({botocore.__file__.rsplit('/', 1)[0]})")


def require(test, *features: Feature):
    """Fails `test` (a unittest.TestCase) unless the installed botocore has every feature."""
    problems = []
    for feature in features:
        gaps = missing(feature)
        if gaps:
            problems.append(f"{feature.what} (needs {feature.wanted()}; this one has "
                            f"{', '.join(gaps)})")
    if problems:
        test.fail("needs a newer boto3 than this run's " + describe_clients() + ": "
                  + "; ".join(problems) + ". Run the suite with a Python whose boto3 is recent "
                  f"enough (the suite passes with botocore {VERIFIED_BOTOCORE}); cmake "
                  "-DHANGAR_E2E_PYTHON=... picks the interpreter.")


# --- what the suites need beyond Debian 12's botocore 1.29 --------------------------------------

KMS_DRY_RUN = Feature(
    "KMS DryRun on cryptographic operations", since="1.30.1",
    needs=(Need("kms", "Encrypt", "input", "DryRun"),
           Need("kms", "CreateGrant", "input", "DryRun")))
KMS_DRY_RUN_MODIFIERS = Feature(
    "KMS Decrypt's DryRunModifiers (IGNORE_CIPHERTEXT)",
    needs=(Need("kms", "Decrypt", "input", "DryRunModifiers"),),
    optional=(Need("kms", "Decrypt", "input", "CiphertextBlob"),))
KMS_DEFAULT_POLICY_NAME = Feature(
    "KMS GetKeyPolicy/PutKeyPolicy without PolicyName, and PolicyName in GetKeyPolicy's answer",
    since="1.34.65",
    needs=(Need("kms", "GetKeyPolicy", "output", "PolicyName"),),
    optional=(Need("kms", "GetKeyPolicy", "input", "PolicyName"),
              Need("kms", "PutKeyPolicy", "input", "PolicyName")))
KMS_ROTATION = Feature(
    "KMS RotateKeyOnDemand, ListKeyRotations and RotationPeriodInDays", since="1.34.84",
    needs=(Need("kms", "RotateKeyOnDemand"), Need("kms", "ListKeyRotations"),
           Need("kms", "EnableKeyRotation", "input", "RotationPeriodInDays"),
           Need("kms", "GetKeyRotationStatus", "output", "RotationPeriodInDays")))
KMS_KEY_MATERIAL_ID = Feature(
    "KMS key material ids (CurrentKeyMaterialId, KeyMaterialId, IncludeKeyMaterial)",
    aws_update="2025-06-05",
    needs=(Need("kms", "DescribeKey", "output", "KeyMetadata.CurrentKeyMaterialId"),
           Need("kms", "Decrypt", "output", "KeyMaterialId"),
           Need("kms", "GenerateDataKey", "output", "KeyMaterialId"),
           Need("kms", "ReEncrypt", "output", "DestinationKeyMaterialId"),
           Need("kms", "ListKeyRotations", "output", "Rotations.KeyMaterialId"),
           Need("kms", "ListKeyRotations", "input", "IncludeKeyMaterial")))
S3_CHECKSUM_TYPE = Feature(
    "S3 ChecksumType (FULL_OBJECT/COMPOSITE) in responses", since="1.36.0",
    needs=(Need("s3", "PutObject", "output", "ChecksumType"),
           Need("s3", "HeadObject", "output", "ChecksumType")))
S3_IF_NONE_MATCH_ON_PUT = Feature(
    "S3 conditional writes (PutObject IfNoneMatch)",
    aws_update="2024-08-20",
    needs=(Need("s3", "PutObject", "input", "IfNoneMatch"),))


# --- the newer KMS API without a newer client ---------------------------------------------------

def kms_json(server, operation, **params) -> dict:
    """One KMS call sent as raw JSON, SigV4-signed (server.kms_call), answered as the parsed JSON
    body: the whole answer, whatever the installed botocore models. For tests whose subject is not
    the client (durability, SSE) but that use rotation on demand or key material ids, which
    Debian 12's botocore predates. Raises AssertionError unless the answer is 200."""
    response = server.kms_call(operation, params)
    if response.status != 200:
        raise AssertionError(f"{operation} answered {response.status}: {response.body!r}")
    return response.json()
