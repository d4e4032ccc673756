# bulwark's own logs: every stderr line of `bulwark run` (and `bulwark broker`)
# a JSON object, warnings forced (failed deliveries, an absent Alertmanager,
# librdkafka at debug), no planted canary in any output (docs/logging.md).
add_test(NAME run_logs COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/run_logs.py
                               --bulwark $<TARGET_FILE:bulwark>)
set_tests_properties(run_logs PROPERTIES LABELS integration TIMEOUT 300)
