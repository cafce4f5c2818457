// The AWS Encryption SDK for JavaScript against Hangar: a KMS keyring whose KMS client points at
// Hangar's endpoint encrypts and decrypts messages, as an application would. Driven by
// tests/e2e/test_esdk.py, which reads the JSON line this prints.
//
// Environment: HANGAR_ENDPOINT, HANGAR_KEY_ARN, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION. Prints {"cases": [...]} with one entry per message, or exits 1 with the error.

import {
  AlgorithmSuiteIdentifier,
  KMS,
  KmsKeyringNode,
  buildClient,
  CommitmentPolicy,
  getClient,
} from '@aws-crypto/client-node';

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

const clientProvider = getClient(KMS, {
  endpoint: process.env.HANGAR_ENDPOINT,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
});
const keyring = new KmsKeyringNode({
  generatorKeyId: process.env.HANGAR_KEY_ARN,
  clientProvider,
});

const context = { mission: 'sat-link-7', stage: 'e2e' };
const plaintext = Buffer.from('telemetry frame 42: attitude nominal\n'.repeat(100));

// One message per algorithm suite: committing without signatures, and the default, which signs
// each message with ECDSA P-384 (its verification key travels in the encryption context).
const suites = {
  unsigned: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
  ecdsa_p384: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
};

const cases = [];
for (const [name, suiteId] of Object.entries(suites)) {
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: context, suiteId });
  const { plaintext: decrypted, messageHeader } = await decrypt(keyring, result);
  // A flipped byte in the body must make decryption fail (authenticated, and signed).
  const tampered = Buffer.from(result);
  tampered[tampered.length - 80] ^= 1;
  let tamperedRejected = false;
  try {
    await decrypt(keyring, tampered);
  } catch (e) {
    tamperedRejected = true;
  }
  cases.push({
    suite: name,
    suiteId: messageHeader.suiteId,
    roundTrip: Buffer.compare(decrypted, plaintext) === 0,
    context: messageHeader.encryptionContext,
    encryptedDataKeys: messageHeader.encryptedDataKeys.map((k) => k.providerInfo),
    ciphertextBytes: result.length,
    tamperedRejected,
  });
}
console.log(JSON.stringify({ cases }));
