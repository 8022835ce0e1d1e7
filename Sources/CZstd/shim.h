#ifndef TRACECHECK_CZSTD_SHIM_H
#define TRACECHECK_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
