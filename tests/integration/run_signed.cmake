# Header-signed telemetry (SPEC §4 `bw-sig`) through `bulwark run` on Kafka.
add_test(NAME run_signed
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/run_signed.py --bulwark $<TARGET_FILE:bulwark>
                 --loadgen $<TARGET_FILE:bulwark-loadgen> --tool $<TARGET_FILE:kafka_tool>)
set_tests_properties(run_signed PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE)
