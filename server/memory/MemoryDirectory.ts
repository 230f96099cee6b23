import type { ChatRecord, Directory, FriendRequestOutcome, NewChat, UserRecord } from '../ports/Directory.ts';
import { frozenMap } from '../ports/frozenMap.ts';

/** In-process directory of users, chats, members and friends. */
export class MemoryDirectory implements Directory {
  private readonly users = new Map<string, UserRecord>();
  private readonly chats = new Map<string, ChatRecord>();
  private readonly chatsByUser = new Map<string, Set<string>>();
  private readonly friends = new Map<string, Set<string>>();
  /** to -> the users who asked `to` and wait for an answer. */
  private readonly incoming = new Map<string, Set<string>>();
  /** from -> the users `from` asked. */
  private readonly outgoing = new Map<string, Set<string>>();

  async createUser(user: UserRecord): Promise<{ ok: true } | { ok: false; reason: 'exists' }> {
    if (this.users.has(user.id)) return { ok: false, reason: 'exists' };
    this.users.set(user.id, { ...user });
    return { ok: true };
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const user = this.users.get(userId);
    return user && { ...user };
  }

  async updateProfile(userId: string, profile: { name: string }): Promise<boolean> {
    const user = this.users.get(userId);
    if (!user) return false;
    user.name = profile.name;
    return true;
  }

  async createChat(chat: NewChat): Promise<ChatRecord> {
    const record: ChatRecord = Object.freeze({
      id: chat.id, kind: chat.kind, name: chat.name, createdAtMs: chat.createdAtMs,
      members: frozenMap(chat.memberIds.map((id) => [id, 0])),
    });
    this.chats.set(chat.id, record);
    for (const id of chat.memberIds) this.setOf(this.chatsByUser, id).add(chat.id);
    return record;
  }

  /** Stored records are never mutated (writes replace them), so the record itself is the snapshot. */
  async getChat(chatId: string): Promise<ChatRecord | undefined> {
    return this.chats.get(chatId);
  }

  async renameChat(chatId: string, name: string): Promise<boolean> {
    const chat = this.chats.get(chatId);
    if (!chat) return false;
    this.chats.set(chatId, Object.freeze({ ...chat, name }));
    return true;
  }

  async addMember(chatId: string, userId: string, joinedAtSeq: number): Promise<boolean> {
    const chat = this.chats.get(chatId);
    if (!chat || chat.members.has(userId)) return false;
    this.chats.set(chatId, Object.freeze({ ...chat, members: frozenMap([...chat.members, [userId, joinedAtSeq]]) }));
    this.setOf(this.chatsByUser, userId).add(chatId);
    return true;
  }

  async removeMember(chatId: string, userId: string): Promise<boolean> {
    const chat = this.chats.get(chatId);
    if (!chat?.members.has(userId)) return false;
    this.chats.set(chatId, Object.freeze({ ...chat, members: frozenMap([...chat.members].filter(([id]) => id !== userId)) }));
    this.chatsByUser.get(userId)?.delete(chatId);
    return true;
  }

  async chatsOf(userId: string): Promise<string[]> {
    return [...(this.chatsByUser.get(userId) ?? [])];
  }

  async addFriends(a: string, b: string): Promise<void> {
    if (a === b) return;
    this.setOf(this.friends, a).add(b);
    this.setOf(this.friends, b).add(a);
    this.dropRequest(a, b);
    this.dropRequest(b, a);
  }

  async requestFriendship(from: string, to: string): Promise<FriendRequestOutcome> {
    if (from === to) return 'self';
    if (this.friends.get(from)?.has(to)) return 'already-friends';
    if (this.incoming.get(from)?.has(to)) {
      await this.addFriends(from, to);
      return 'friends';
    }
    this.setOf(this.incoming, to).add(from);
    this.setOf(this.outgoing, from).add(to);
    return 'requested';
  }

  async acceptFriendship(userId: string, from: string): Promise<boolean> {
    if (!this.incoming.get(userId)?.has(from)) return false;
    await this.addFriends(userId, from);
    return true;
  }

  async removeFriendRequest(a: string, b: string): Promise<boolean> {
    const removed = this.dropRequest(a, b);
    return this.dropRequest(b, a) || removed;
  }

  async friendRequestsOf(userId: string): Promise<{ incoming: string[]; outgoing: string[] }> {
    return { incoming: [...(this.incoming.get(userId) ?? [])], outgoing: [...(this.outgoing.get(userId) ?? [])] };
  }

  /** Deletes the pending request from -> to; says whether there was one. */
  private dropRequest(from: string, to: string): boolean {
    const had = this.incoming.get(to)?.delete(from) ?? false;
    this.outgoing.get(from)?.delete(to);
    return had;
  }

  async friendsOf(userId: string): Promise<string[]> {
    return [...(this.friends.get(userId) ?? [])];
  }

  private setOf(map: Map<string, Set<string>>, key: string): Set<string> {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    return set;
  }
}
