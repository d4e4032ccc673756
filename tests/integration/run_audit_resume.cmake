# `bulwark run` continues the audit chain across restarts (SIGTERM and kill -9)
# against a `bulwark broker` process; a foreign last record is refused.
add_test(NAME run_audit_resume
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/run_audit_resume.py --bulwark $<TARGET_FILE:bulwark>
                 --tool $<TARGET_FILE:kafka_tool>)
set_tests_properties(run_audit_resume PROPERTIES LABELS integration TIMEOUT 400 RUN_SERIAL TRUE)
