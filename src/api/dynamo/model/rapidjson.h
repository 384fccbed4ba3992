#pragma once
// RapidJSON's reader, DOM and writer, for .cc files only (never include from a header: use
// rapidjson/fwd.h there). Include this instead of the RapidJSON headers directly.
//
// Debian's RapidJSON 1.1.0 computes `nullptr + offset` in internal::Stack::Reserve on the first
// push of every parse (fixed upstream after 1.1.0); it is harmless on every target we build for
// but is undefined behaviour that UBSan reports and the fuzz builds abort on. Under clang the
// pointer-overflow check is switched off for RapidJSON's own functions only.

#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("pointer-overflow"))), apply_to = function)
#endif
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif
