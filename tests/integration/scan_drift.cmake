# Drift through `bulwark scan` on a bulwark-loadgen fleet (boiling frog, clean
# twin, key cap, a frozen reference file recorded in the audit chain).
add_test(NAME scan_drift
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/scan_drift.py --bulwark $<TARGET_FILE:bulwark>
                 --loadgen $<TARGET_FILE:bulwark-loadgen>)
set_tests_properties(scan_drift PROPERTIES LABELS integration TIMEOUT 300)
