# The fuzz targets: tests/fuzz/<name>_fuzz.cc with its seed corpus in tests/fuzz/corpus/<name>/
# and reproducers of bugs it found in tests/fuzz/regressions/<name>/. Included by the sanitizer
# tree, which builds them (tests/fuzz/CMakeLists.txt), and by the main tree, which forwards its
# fuzz.<name> tests there.
set(HANGAR_FUZZ_TARGETS
    sigv4           # ParseSigV4, PeekSigV4Service, SigV4Verifier::Verify
    aws_chunked     # MakePayloadReader and the aws-chunked decoder, trailers, chunk signatures
    s3_xml          # every S3 XML request body through S3Api::Handle
    kms_json        # every KMS JSON request body through KmsApi::Call
    policy          # ParsePolicy, Authorize, EvaluateCondition, GrantsPublicAccess
    kms_ciphertext  # the KMS ciphertext blob (PeekCiphertext, OpenCiphertext)
    encrypted_blob  # the SSE segment format (decrypting reader over hostile bytes)
    iam_query       # QueryParams, IamApi::Call, StsApi::Call
    post_form       # MultipartFormReader, ParsePostPolicy, CheckPostPolicy (POST Object forms)
)
set(HANGAR_FUZZ_TEST_SECONDS 15 CACHE STRING "Seconds ctest runs each fuzz target (fuzz.<name>)")

# Registers fuzz.<name> for every target as a run of the same test in the sanitizer tree at
# `sanitizer_dir`, so that one ctest run (`make test`) reports everything.
function(hangar_forward_fuzz_tests sanitizer_dir)
  foreach(name IN LISTS HANGAR_FUZZ_TARGETS)
    add_test(NAME fuzz.${name}
             COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${sanitizer_dir} -R "^fuzz\\.${name}$"
                     --no-tests=error --output-on-failure)
    set_tests_properties(fuzz.${name} PROPERTIES LABELS "sanitizer;fuzz" TIMEOUT 300)
  endforeach()
endfunction()
