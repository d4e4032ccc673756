# `bulwark run` on the embedded cluster scraped by a real Prometheus (Debian
# prometheus, installed by scripts/install-deps) that the test starts on
# 127.0.0.1; promtool checks a scraped exposition.
find_program(BULWARK_PROMETHEUS_EXE prometheus PATHS /usr/bin)
find_program(BULWARK_PROMTOOL_EXE promtool PATHS /usr/bin)
add_test(NAME prometheus
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/prometheus.py --bulwark $<TARGET_FILE:bulwark>
                 --tool $<TARGET_FILE:kafka_tool> --prometheus ${BULWARK_PROMETHEUS_EXE}
                 --promtool ${BULWARK_PROMTOOL_EXE})
set_tests_properties(prometheus PROPERTIES LABELS integration TIMEOUT 300)
