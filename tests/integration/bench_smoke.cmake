# bench/run-all end to end at --quick sizes (micro suites and the memory benchmark):
# the JSON, the plot and the generated section are written and parse. No timing is judged.
add_test(NAME bench_smoke
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/bench_smoke.py --root ${PROJECT_SOURCE_DIR}
                 --build ${PROJECT_BINARY_DIR})
set_tests_properties(bench_smoke PROPERTIES LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77)
