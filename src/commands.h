/*
 * commands.h - the list of subcommands, in the order --help shows them.
 *
 * Each subcommand is defined in its own file, src/cmd_<name>.c, as a
 * `const iw_command iw_cmd_<name>`.
 */
#ifndef IW_SRC_COMMANDS_H
#define IW_SRC_COMMANDS_H

#include "cli.h"

#define IW_DECLARE_COMMAND(n) extern const iw_command iw_cmd_##n

IW_DECLARE_COMMAND (assess);
IW_DECLARE_COMMAND (list);
IW_DECLARE_COMMAND (resolve);
IW_DECLARE_COMMAND (ref);
IW_DECLARE_COMMAND (verify_store);
IW_DECLARE_COMMAND (pin);
IW_DECLARE_COMMAND (serve);

#define IW_COMMAND_LIST                                                                                      \
  &iw_cmd_assess, &iw_cmd_list, &iw_cmd_resolve, &iw_cmd_ref, &iw_cmd_verify_store, &iw_cmd_pin, &iw_cmd_serve

#endif
