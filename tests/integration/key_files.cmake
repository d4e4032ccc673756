# Key hygiene through the binary: key files others or the group can access
# are refused with the fix, and no error about a key ever prints the key.
add_test(NAME key_files
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/key_files.py --bulwark $<TARGET_FILE:bulwark>)
set_tests_properties(key_files PROPERTIES LABELS integration TIMEOUT 120)
