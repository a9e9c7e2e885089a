// DOC: the controller's CLI commands (docs/cli-protocol.md), registered in steerd's
// CommandTable: show status|vips|backends|health|stats|flow|events, backend ..., configure
// [check], help. Each handler reads the controller's published ServiceHealth and its
// collaborators and answers in the socket protocol (common/framing.h); the ones that change
// state go through Controller's methods. Control thread only.
#pragma once

#include "common/command_table.h"
#include "control/controller.h"

namespace steer::control {

// Registers the controller's commands in `table`; `config_path` is what `show status` names.
// `table` and `controller` must outlive the registered handlers.
void register_controller_commands(CommandTable& table, Controller& controller,
                                  std::string config_path);

}  // namespace steer::control
