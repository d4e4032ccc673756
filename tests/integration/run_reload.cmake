# Hot reload under load: SIGHUP and POST /-/reload while `bulwark run` consumes
# from the embedded cluster; a broken rule file keeps the old rules.
add_test(NAME run_reload
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/run_reload.py --bulwark $<TARGET_FILE:bulwark>
                 --tool $<TARGET_FILE:kafka_tool>)
set_tests_properties(run_reload PROPERTIES LABELS integration TIMEOUT 400)
