"""The AWS Encryption SDK for JavaScript (npm @aws-crypto/client-node) against Hangar.

An application's view of Hangar's KMS: a KMS keyring whose KMS client points at Hangar's endpoint
encrypts and decrypts a message with an encryption context, once with a committing suite without
signatures and once with the default suite, which signs the message with ECDSA P-384; a flipped
byte must make decryption fail. The script is tests/interop/esdk/roundtrip.mjs; its npm packages
are pinned by package-lock.json and installed by scripts/install-deps.sh (`npm ci`). The audit
trail then shows the SDK's GenerateDataKey and Decrypt calls (the JavaScript SDK's user agent, the
Encryption SDK's context): the calls reached the real server.
"""

import json
import os
import shutil
import subprocess
import unittest

from harness import HangarTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ESDK_DIR = os.path.join(ROOT, "tests", "interop", "esdk")
CONTEXT = {"mission": "sat-link-7", "stage": "e2e"}
SUITES = {  # name in roundtrip.mjs -> the ESDK's numeric suite id
    "unsigned": 0x0478,    # ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY
    "ecdsa_p384": 0x0578,  # ..._COMMIT_KEY_ECDSA_P384 (the default)
}


class EncryptionSdkTest(HangarTestCase):
    def run_roundtrip(self, key_arn):
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise AssertionError("node is not installed; run scripts/install-deps.sh")
        if not os.path.isdir(os.path.join(ESDK_DIR, "node_modules", "@aws-crypto")):
            raise AssertionError(f"npm packages missing in {ESDK_DIR}; run scripts/install-deps.sh")
        env = dict(os.environ, HANGAR_ENDPOINT=self.server.endpoint, HANGAR_KEY_ARN=key_arn,
                   AWS_ACCESS_KEY_ID=self.server.access_key_id,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_access_key, AWS_REGION="us-east-1")
        env.pop("AWS_CA_BUNDLE", None)  # plain HTTP to 127.0.0.1
        done = subprocess.run([node, "roundtrip.mjs"], cwd=ESDK_DIR, env=env, capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        self.assertTrue(lines, done.stdout + done.stderr)
        return {c["suite"]: c for c in json.loads(lines[-1])["cases"]}

    def test_kms_keyring_encrypts_and_decrypts_through_hangar(self):
        kms = self.server.client("kms")
        key_arn = kms.create_key(Description="esdk")["KeyMetadata"]["Arn"]
        cases = self.run_roundtrip(key_arn)
        self.assertEqual(set(cases), set(SUITES))
        for name, suite_id in SUITES.items():
            with self.subTest(suite=name):
                case = cases[name]
                self.assertEqual(case["suiteId"], suite_id)
                self.assertTrue(case["roundTrip"])
                self.assertTrue(case["tamperedRejected"])
                self.assertEqual(case["encryptedDataKeys"], [key_arn])
                for k, v in CONTEXT.items():
                    self.assertEqual(case["context"].get(k), v)
        # The signing suite carries its ECDSA verification key in the context; the other does not.
        self.assertIn("aws-crypto-public-key", cases["ecdsa_p384"]["context"])
        self.assertNotIn("aws-crypto-public-key", cases["unsigned"]["context"])

        # The SDK's KMS calls are in the audit trail: made by the AWS SDK for JavaScript, and for
        # the signing suite with the ECDSA public key the Encryption SDK adds to the context.
        trail = self.server.client("cloudtrail")
        for operation, at_least in (("GenerateDataKey", 2), ("Decrypt", 4)):
            events = [json.loads(e["CloudTrailEvent"]) for e in trail.lookup_events(
                LookupAttributes=[{"AttributeKey": "EventName",
                                   "AttributeValue": operation}])["Events"]]
            from_sdk = [e for e in events
                        if e.get("userAgent", "").startswith("aws-sdk-js/")
                        and e.get("requestParameters", {}).get("keyId") == key_arn]
            self.assertGreaterEqual(len(from_sdk), at_least, (operation, events[:2]))
            signed = [e for e in from_sdk
                      if "aws-crypto-public-key" in e["requestParameters"]["encryptionContext"]]
            self.assertGreaterEqual(len(signed), 1, operation)

if __name__ == "__main__":
    unittest.main()
