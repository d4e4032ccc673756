# `bulwark scan` against a real Alertmanager (Debian prometheus-alertmanager,
# installed by scripts/install-deps) that the test starts on 127.0.0.1.
find_program(BULWARK_ALERTMANAGER_EXE prometheus-alertmanager PATHS /usr/bin)
add_test(NAME alertmanager
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/alertmanager_test.py --bulwark $<TARGET_FILE:bulwark>
                 --alertmanager ${BULWARK_ALERTMANAGER_EXE})
set_tests_properties(alertmanager PROPERTIES LABELS integration TIMEOUT 300)
