"""Imported key material (BYOK) end to end, as AWS documents it, with OpenSSL as the key owner.

Covered: CreateKey with Origin EXTERNAL (PendingImport, crypto refused); GetParametersForImport
(RSA wrapping key as DER SPKI, token valid 24 hours; alias and AWS_KMS-origin refusals);
`openssl pkeyutl` wrapping 32 random bytes with RSAES_OAEP_SHA_256, ImportKeyMaterial,
Encrypt/Decrypt; expiry through the dev clock (DeleteExpiredKeyMaterial in the audit trail, the
key back in PendingImport, old ciphertext refused), re-import of the same material (old ciphertext
readable again) and refusal of other material; DeleteImportedKeyMaterial; an EC private key
imported with RSA_AES_KEY_WRAP_SHA_256 (`openssl enc -id-aes256-wrap-pad`) whose signatures
OpenSSL verifies with the key it imported; and the tampered, foreign and expired token errors.

Codes and texts: docs/reference/kms-keys-beyond-symmetric.md §9; texts AWS has not recorded [?]
are checked by code only. ImportKeyMaterial, GetParametersForImport and DeleteImportedKeyMaterial
exist in Debian 12's botocore 1.29; members it lacks (KeyMaterialId) are read from raw JSON.
"""

import base64
import json
import os
import unittest

from clients import kms_json
from harness import HangarTestCase, b64
from test_kms_asymmetric import OpenSsl

DAY = 86400


class ImportTestCase(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client("kms")

    def setUp(self):
        self.openssl = OpenSsl()
        self.addCleanup(self.openssl.close)

    def external_key(self, **kwargs):
        return self.kms.create_key(Origin="EXTERNAL", **kwargs)["KeyMetadata"]

    def parameters(self, key_id, algorithm="RSAES_OAEP_SHA_256", spec="RSA_2048"):
        return self.kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm,
                                                  WrappingKeySpec=spec)

    def wrap_oaep(self, public_der, material):
        """AWS's documented command: openssl pkeyutl -encrypt ... rsa_oaep_md:sha256."""
        return self.openssl.encrypt_oaep(public_der, material, "sha256")

    def wrap_rsa_aes(self, public_der, material):
        """AWS's documented RSA_AES_KEY_WRAP_SHA_256 steps: a random AES key wrapped with
        RSA-OAEP, then the material under it with AES key wrap with padding (RFC 5649)."""
        aes_key = os.urandom(32)
        wrapped_material = self.openssl.path("wrapped")
        self.openssl.run("enc", "-id-aes256-wrap-pad", "-K", aes_key.hex(), "-iv", "A65959A6",
                         "-in", self.openssl.file(material, "material"), "-out", wrapped_material)
        return (self.openssl.encrypt_oaep(public_der, aes_key, "sha256") +
                self.openssl.read(wrapped_material))

    def import_material(self, key_id, material, **kwargs):
        params = self.parameters(key_id)
        kwargs.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        return self.kms.import_key_material(
            KeyId=key_id, ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=self.wrap_oaep(params["PublicKey"], material), **kwargs)

    def state(self, key_id):
        return self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


class ImportLifecycleTest(ImportTestCase):
    def test_external_key_waits_for_its_material(self):
        meta = self.external_key()
        self.assertEqual(meta["KeyState"], "PendingImport")
        self.assertFalse(meta["Enabled"])
        self.assertEqual(meta["Origin"], "EXTERNAL")
        raw = kms_json(self.server, "DescribeKey", KeyId=meta["KeyId"])["KeyMetadata"]
        self.assertNotIn("CurrentKeyMaterialId", raw)
        self.assertNotIn("ExpirationModel", raw)
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending import.",
                               self.kms.encrypt, KeyId=meta["KeyId"], Plaintext=b"x")
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending import.",
                               self.kms.enable_key, KeyId=meta["KeyId"])

    def test_parameters_are_an_rsa_wrapping_key_and_a_token_for_24_hours(self):
        meta = self.external_key()
        for spec, bits in (("RSA_2048", 2048), ("RSA_3072", 3072)):
            with self.subTest(spec=spec):
                before = self.server.advance_clock(0)  # the server's (dev) clock
                params = self.parameters(meta["KeyId"], spec=spec)
                self.assertEqual(params["KeyId"], meta["Arn"])
                self.assertIn(f"({bits} bit)", self.openssl.public_text(params["PublicKey"]))
                valid_to = params["ParametersValidTo"].timestamp()
                self.assertAlmostEqual(valid_to - before, DAY, delta=120)

    def test_parameters_are_refused_for_aliases_and_aws_kms_keys(self):
        meta = self.kms.create_key()["KeyMetadata"]
        self.assertClientError(
            "UnsupportedOperationException",
            f"{meta['Arn']} origin is AWS_KMS which is not valid for this operation.",
            self.parameters, meta["KeyId"])
        external = self.external_key()
        alias = f"alias/byok-{external['KeyId'][:8]}"
        self.kms.create_alias(AliasName=alias, TargetKeyId=external["KeyId"])
        self.assertClientError("InvalidArnException",
                               "Key Aliases are not supported for this operation.",
                               self.parameters, alias)

    def test_openssl_wrapped_material_encrypts_expires_and_comes_back(self):
        meta = self.external_key()
        material = os.urandom(32)
        params = self.parameters(meta["KeyId"])
        now = self.server.advance_clock(0)
        out = kms_json(self.server, "ImportKeyMaterial", KeyId=meta["KeyId"],
                       ImportToken=b64(params["ImportToken"]),
                       EncryptedKeyMaterial=b64(self.wrap_oaep(params["PublicKey"], material)),
                       ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=int(now) + DAY)
        self.assertEqual(out["KeyId"], meta["Arn"])
        self.assertRegex(out["KeyMaterialId"], r"^[0-9a-f]{64}$")
        described = kms_json(self.server, "DescribeKey", KeyId=meta["KeyId"])["KeyMetadata"]
        self.assertEqual(described["KeyState"], "Enabled")
        self.assertEqual(described["ExpirationModel"], "KEY_MATERIAL_EXPIRES")
        self.assertAlmostEqual(described["ValidTo"], int(now) + DAY, delta=1)
        self.assertEqual(described["CurrentKeyMaterialId"], out["KeyMaterialId"])
        blob = self.kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"telemetry",
                                EncryptionContext={"mission": "m1"})["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob,
                                          EncryptionContext={"mission": "m1"})["Plaintext"],
                         b"telemetry")

        # ValidTo passes: the material is deleted, the key waits for it again.
        self.server.advance_clock(DAY + 60)
        self.assertEqual(self.state(meta["KeyId"]), "PendingImport")
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending import.",
                               self.kms.decrypt, CiphertextBlob=blob,
                               EncryptionContext={"mission": "m1"})
        events = self.kms_events("DeleteExpiredKeyMaterial")
        self.assertTrue(any(e["eventType"] == "AwsServiceEvent" and
                            e["resources"][0]["ARN"] == meta["Arn"] for e in events), events)

        # Other material is refused; the same material makes the old ciphertext readable again.
        self.assertClientError("IncorrectKeyMaterialException", None, self.import_material,
                               meta["KeyId"], os.urandom(32))
        again = self.import_material(meta["KeyId"], material)
        self.assertEqual(self.state(meta["KeyId"]), "Enabled")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob,
                                          EncryptionContext={"mission": "m1"})["Plaintext"],
                         b"telemetry")
        self.assertEqual(again["KeyId"], meta["Arn"])

    def test_deleted_material_makes_the_data_unreadable_until_reimported(self):
        meta = self.external_key()
        material = os.urandom(32)
        self.import_material(meta["KeyId"], material)
        blob = self.kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
        deleted = self.kms.delete_imported_key_material(KeyId=meta["KeyId"])
        self.assertEqual(self.state(meta["KeyId"]), "PendingImport")
        raw = kms_json(self.server, "DescribeKey", KeyId=meta["KeyId"])["KeyMetadata"]
        self.assertNotIn("ExpirationModel", raw)
        self.assertIn("CurrentKeyMaterialId", raw)  # kept, as AWS keeps it
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending import.",
                               self.kms.decrypt, CiphertextBlob=blob)
        self.import_material(meta["KeyId"], material)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"secret")
        self.assertIsNotNone(deleted)

    def test_missing_valid_to_with_expiring_material_is_refused(self):
        meta = self.external_key()
        params = self.parameters(meta["KeyId"])
        self.assertClientError(
            "ValidationException",
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
            self.kms.import_key_material, KeyId=meta["KeyId"],
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=self.wrap_oaep(params["PublicKey"], os.urandom(32)))

    def test_tokens_of_another_key_tampered_or_expired_are_refused(self):
        meta, other = self.external_key(), self.external_key()
        params = self.parameters(meta["KeyId"])
        wrapped = self.wrap_oaep(params["PublicKey"], os.urandom(32))
        common = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
                  "EncryptedKeyMaterial": wrapped}
        self.assertClientError("InvalidImportTokenException", None, self.kms.import_key_material,
                               KeyId=other["KeyId"], ImportToken=params["ImportToken"], **common)
        tampered = bytearray(params["ImportToken"])
        tampered[len(tampered) // 2] ^= 1
        self.assertClientError("InvalidImportTokenException", None, self.kms.import_key_material,
                               KeyId=meta["KeyId"], ImportToken=bytes(tampered), **common)
        self.assertClientError("InvalidCiphertextException", None, self.kms.import_key_material,
                               KeyId=meta["KeyId"], ImportToken=params["ImportToken"],
                               ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
                               EncryptedKeyMaterial=bytes(256))
        later = self.parameters(meta["KeyId"])
        self.server.advance_clock(DAY + 60)
        self.assertClientError("ExpiredImportTokenException", None, self.kms.import_key_material,
                               KeyId=meta["KeyId"], ImportToken=later["ImportToken"],
                               ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
                               EncryptedKeyMaterial=self.wrap_oaep(later["PublicKey"],
                                                                   os.urandom(32)))

    def kms_events(self, name):
        ct = self.server.client("cloudtrail")
        found = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                    "AttributeValue": name}])["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in found]


class ImportAsymmetricTest(ImportTestCase):
    def pkcs8_der(self, private_pem):
        """The private key as DER PKCS #8, the form AWS imports asymmetric material in."""
        out = self.openssl.path("key.der")
        self.openssl.run("pkcs8", "-topk8", "-nocrypt", "-in", private_pem, "-outform", "DER",
                         "-out", out)
        return self.openssl.read(out)

    def test_imported_ec_key_signs_and_openssl_verifies_with_the_key_it_imported(self):
        meta = self.external_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
        private_pem, public_der = self.openssl.new_ec_key("P-256")
        params = self.parameters(meta["KeyId"], algorithm="RSA_AES_KEY_WRAP_SHA_256")
        self.kms.import_key_material(
            KeyId=meta["KeyId"], ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=self.wrap_rsa_aes(params["PublicKey"], self.pkcs8_der(private_pem)),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertEqual(self.kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"], public_der)
        message = b"firmware image 7.1"
        signature = self.kms.sign(KeyId=meta["KeyId"], Message=message,
                                  SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.assertTrue(self.openssl.verify(public_der, message, signature, "sha256"))
        # And Hangar verifies what OpenSSL signed with the same private key.
        theirs = self.openssl.sign(private_pem, message, "sha256")
        self.assertTrue(self.kms.verify(KeyId=meta["KeyId"], Message=message, Signature=theirs,
                                        SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"])

    def test_public_key_of_a_key_waiting_for_its_material_is_pending_import(self):
        meta = self.external_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending import.",
                               self.kms.get_public_key, KeyId=meta["KeyId"])

    def test_material_of_another_curve_does_not_fit(self):
        meta = self.external_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
        private_pem, _ = self.openssl.new_ec_key("P-384")
        params = self.parameters(meta["KeyId"], algorithm="RSA_AES_KEY_WRAP_SHA_256")
        self.assertClientError(
            "IncorrectKeyMaterialException", None, self.kms.import_key_material,
            KeyId=meta["KeyId"], ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=self.wrap_rsa_aes(params["PublicKey"], self.pkcs8_der(private_pem)),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        self.assertEqual(self.state(meta["KeyId"]), "PendingImport")


if __name__ == "__main__":
    unittest.main()
