// core is mostly header-only; this unit anchors the static library.
#include "core/verdict.hpp"
