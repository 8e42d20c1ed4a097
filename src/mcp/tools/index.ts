import type { ToolDefinition } from '../tool.js';
import { calculateSum } from './calculate-sum.js';
import { deleteUserNote } from './delete-user-note.js';
import { finishChat } from './finish-chat.js';
import { getGraphUserDetails } from './get-graph-user-details.js';
import { getServerInfo } from './get-server-info.js';
import { getUserNotes } from './get-user-notes.js';
import { getUserProfile } from './get-user-profile.js';
import { saveUserNote } from './save-user-note.js';
import { sendMessage } from './send-message.js';
import { whoami } from './whoami.js';

/** The tools every Gatehouse serves itself. */
export const BUILT_IN_TOOLS: readonly ToolDefinition[] = [
  whoami,
  calculateSum,
  getServerInfo,
  saveUserNote,
  getUserNotes,
  deleteUserNote,
  getGraphUserDetails,
  getUserProfile,
] as ToolDefinition[];

/** The chat tools, served only when a chat backend is configured (CHAT_COMPLETIONS_URL). */
export const CHAT_TOOLS: readonly ToolDefinition[] = [sendMessage, finishChat] as ToolDefinition[];
