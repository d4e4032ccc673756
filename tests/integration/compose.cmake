# The docker-compose stack's files (docker-compose.yml, configs/): Debian's
# docker-compose validates the compose file (skipped when it is absent), the
# bulwark configs load, promtool and amtool accept Prometheus's and
# Alertmanager's, the Dockerfile's inputs and runtime libraries are there,
# and every metric the Grafana dashboard queries exists in a
# real `bulwark run` exposition. No Docker daemon is needed.
find_program(BULWARK_DOCKER_COMPOSE_EXE docker-compose PATHS /usr/bin)
find_program(BULWARK_PROMTOOL_EXE promtool PATHS /usr/bin)
find_program(BULWARK_AMTOOL_EXE amtool PATHS /usr/bin)
set(_compose_args --source ${PROJECT_SOURCE_DIR} --bulwark $<TARGET_FILE:bulwark>)
if(BULWARK_DOCKER_COMPOSE_EXE)
  list(APPEND _compose_args --docker-compose ${BULWARK_DOCKER_COMPOSE_EXE})
endif()
add_test(NAME compose_file COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/compose.py file ${_compose_args})
set_tests_properties(compose_file PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
set(_configs_args ${_compose_args} --promtool ${BULWARK_PROMTOOL_EXE})
if(BULWARK_AMTOOL_EXE)
  list(APPEND _configs_args --amtool ${BULWARK_AMTOOL_EXE})
endif()
add_test(NAME compose_configs COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/compose.py configs ${_configs_args})
set_tests_properties(compose_configs PROPERTIES LABELS integration TIMEOUT 300)
