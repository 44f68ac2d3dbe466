#include <libusb.h>

/* libusb_set_option is variadic, which Swift cannot call: one fixed-arity wrapper. */
static inline int fieldgate_libusb_set_log_level(libusb_context *context, int level) {
    return libusb_set_option(context, LIBUSB_OPTION_LOG_LEVEL, level);
}
