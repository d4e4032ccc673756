# The live status page (docs/status-page.md) loaded by headless Chromium
# (Debian `chromium`, installed by scripts/install-deps) while the telemetry
# carries XSS payloads and canary secrets; skipped (77) only without chromium.
find_program(BULWARK_CHROMIUM_EXE chromium PATHS /usr/bin)
if(NOT BULWARK_CHROMIUM_EXE)
  set(BULWARK_CHROMIUM_EXE "")
endif()
add_test(NAME status_page
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/status_page.py --bulwark $<TARGET_FILE:bulwark>
                 --tool $<TARGET_FILE:kafka_tool> --chromium "${BULWARK_CHROMIUM_EXE}"
                 --out ${CMAKE_BINARY_DIR})
set_tests_properties(status_page PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
