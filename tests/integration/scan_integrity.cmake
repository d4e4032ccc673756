# Telemetry integrity end to end through `bulwark scan` (issue 6): one test per
# attack kind, on streams from the published example signer or bulwark-loadgen.
foreach(scenario silence skew reset poisoning rollback_guard rotation reorder clean
                 loadgen_episodes loadgen_mix)
  add_test(NAME scan_integrity_${scenario}
           COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/scan_integrity.py --bulwark $<TARGET_FILE:bulwark>
                   --loadgen $<TARGET_FILE:bulwark-loadgen> ${scenario})
  set_tests_properties(scan_integrity_${scenario} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()
