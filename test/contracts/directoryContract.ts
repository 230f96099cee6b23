import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRecord, Directory, NewChat, UserRecord } from '../../server/ports/Directory.ts';
import { tryMutate, uniqueId } from './helpers.ts';

export interface DirectorySubject {
  directory: Directory;
  /** Releases connections etc. Called after every test. */
  cleanup(): Promise<void>;
}

/**
 * The Directory contract (server/ports/Directory.ts). `makeSubject` is called once per test;
 * user and chat ids are unique per test, so a shared backend is fine.
 */
export function describeDirectoryContract(name: string, makeSubject: () => Promise<DirectorySubject>): void {
  describe(`Directory contract: ${name}`, () => {
    let subject: DirectorySubject;
    let directory: Directory;

    beforeEach(async () => {
      subject = await makeSubject();
      directory = subject.directory;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    function user(id: string, name = `Name of ${id}`): UserRecord {
      return { id, name, passwordHash: `scrypt$salt-${id}$hash-${id}` };
    }

    function newChat(memberIds: string[], kind: NewChat['kind'] = 'group', name = 'Hiking ⛰'): NewChat {
      return { id: uniqueId('chat'), kind, name, memberIds, createdAtMs: 1_700_000_123_456 };
    }

    const sorted = (xs: string[]): string[] => [...xs].sort();

    describe('users', () => {
      it('createUser stores the user; getUser returns it; unknown ids give undefined', async () => {
        const u = user(uniqueId('alice'));
        expect(await directory.createUser(u)).toEqual({ ok: true });
        expect(await directory.getUser(u.id)).toEqual(u);
        expect(await directory.getUser(uniqueId('nobody'))).toBeUndefined();
      });

      it('createUser fails with exists when the id is taken, and keeps the first record', async () => {
        const u = user(uniqueId('alice'));
        expect(await directory.createUser(u)).toEqual({ ok: true });
        expect(await directory.createUser({ ...u, name: 'Impostor', passwordHash: 'other' })).toEqual({ ok: false, reason: 'exists' });
        expect(await directory.getUser(u.id)).toEqual(u);
      });

      it('ids are case-sensitive', async () => {
        const id = uniqueId('Alice');
        const lower = user(id.toLowerCase(), 'lower');
        const upper = user(id.toUpperCase(), 'upper');
        expect(await directory.createUser(lower)).toEqual({ ok: true });
        expect(await directory.createUser(upper)).toEqual({ ok: true });
        expect(await directory.getUser(lower.id)).toEqual(lower);
        expect(await directory.getUser(upper.id)).toEqual(upper);
        expect(await directory.getUser(id.slice(0, 1).toUpperCase() + id.slice(1).toLowerCase())).toBeUndefined();
      });

      it('updateProfile changes the name only, and returns false for an unknown user', async () => {
        const u = user(uniqueId('alice'), 'Alice');
        await directory.createUser(u);
        expect(await directory.updateProfile(u.id, { name: 'Alice B.' })).toBe(true);
        expect(await directory.getUser(u.id)).toEqual({ ...u, name: 'Alice B.' });
        const unknown = uniqueId('nobody');
        expect(await directory.updateProfile(unknown, { name: 'Ghost' })).toBe(false);
        expect(await directory.getUser(unknown)).toBeUndefined();
      });

      it('copies users in and out', async () => {
        const u = user(uniqueId('alice'), 'Alice');
        const expected = { ...u };
        await directory.createUser(u);
        u.name = 'mutated input';
        const read = await directory.getUser(u.id);
        tryMutate(() => { read!.name = 'mutated output'; });
        tryMutate(() => { read!.passwordHash = 'mutated'; });
        expect(await directory.getUser(u.id)).toEqual(expected);
      });
    });

    describe('chats', () => {
      it('createChat returns the record with every member joined at seq 0; getChat returns the same', async () => {
        const [a, b, c] = [uniqueId('a'), uniqueId('b'), uniqueId('c')];
        const input = newChat([a, b, c], 'group', 'Hiking ⛰');
        const expected: ChatRecord = {
          id: input.id, kind: 'group', name: 'Hiking ⛰', createdAtMs: input.createdAtMs,
          members: new Map([[a, 0], [b, 0], [c, 0]]),
        };
        expect(await directory.createChat(input)).toEqual(expected);
        expect(await directory.getChat(input.id)).toEqual(expected);
        const direct = newChat([a, b], 'direct', '');
        expect(await directory.getChat((await directory.createChat(direct)).id)).toMatchObject({ kind: 'direct', name: '' });
        expect(await directory.getChat(uniqueId('chat-unknown'))).toBeUndefined();
      });

      it('members are a set: a repeated member id counts once', async () => {
        const [a, b] = [uniqueId('a'), uniqueId('b')];
        const chat = await directory.createChat(newChat([a, b, a]));
        expect([...chat.members.keys()].sort()).toEqual(sorted([a, b]));
        expect(await directory.chatsOf(a)).toEqual([chat.id]);
        await directory.addMember(chat.id, b, 5);
        const read = await directory.getChat(chat.id);
        expect(read!.members.size).toBe(2);
      });

      it('chatsOf lists the chats a user is a member of', async () => {
        const [a, b, c] = [uniqueId('a'), uniqueId('b'), uniqueId('c')];
        const ab = await directory.createChat(newChat([a, b]));
        const bc = await directory.createChat(newChat([b, c]));
        expect(await directory.chatsOf(a)).toEqual([ab.id]);
        expect(sorted(await directory.chatsOf(b))).toEqual(sorted([ab.id, bc.id]));
        expect(await directory.chatsOf(c)).toEqual([bc.id]);
        expect(await directory.chatsOf(uniqueId('nobody'))).toEqual([]);
      });

      it('addMember records joinedAtSeq and the membership; removeMember undoes it; both say whether they did anything', async () => {
        const [a, b, d] = [uniqueId('a'), uniqueId('b'), uniqueId('d')];
        const chat = await directory.createChat(newChat([a, b]));
        expect(await directory.addMember(chat.id, d, 17)).toBe(true);
        expect((await directory.getChat(chat.id))!.members).toEqual(new Map([[a, 0], [b, 0], [d, 17]]));
        expect(await directory.chatsOf(d)).toEqual([chat.id]);

        expect(await directory.removeMember(chat.id, a)).toBe(true);
        expect((await directory.getChat(chat.id))!.members).toEqual(new Map([[b, 0], [d, 17]]));
        expect(await directory.chatsOf(a)).toEqual([]);
        expect(await directory.removeMember(chat.id, a)).toBe(false);

        expect(await directory.addMember(chat.id, a, 30)).toBe(true);
        expect((await directory.getChat(chat.id))!.members.get(a)).toBe(30);
        expect(await directory.chatsOf(a)).toEqual([chat.id]);

        const unknownChat = uniqueId('chat-unknown');
        expect(await directory.addMember(unknownChat, a, 1)).toBe(false);
        expect(await directory.removeMember(unknownChat, a)).toBe(false);
        expect(await directory.chatsOf(a)).toEqual([chat.id]);
        expect(await directory.getChat(unknownChat)).toBeUndefined();
      });

      it('renameChat changes the name and returns false for an unknown chat', async () => {
        const chat = await directory.createChat(newChat([uniqueId('a')], 'group', 'Old'));
        expect(await directory.renameChat(chat.id, 'New name')).toBe(true);
        expect(await directory.getChat(chat.id)).toEqual({ ...chat, name: 'New name' });
        const unknown = uniqueId('chat-unknown');
        expect(await directory.renameChat(unknown, 'x')).toBe(false);
        expect(await directory.getChat(unknown)).toBeUndefined();
      });

      it('getChat and createChat return snapshots: mutating them (casting away readonly), or the input, does not change the store', async () => {
        const [a, b] = [uniqueId('a'), uniqueId('b')];
        const input = newChat([a, b], 'group', 'Original');
        const created = await directory.createChat(input);
        const expected: ChatRecord = { id: input.id, kind: 'group', name: 'Original', createdAtMs: input.createdAtMs, members: new Map([[a, 0], [b, 0]]) };
        input.memberIds.push(uniqueId('intruder'));
        input.name = 'mutated input';
        tryMutate(() => { (created.members as Map<string, number>).set('intruder', 1); });
        tryMutate(() => { (created as { name: string }).name = 'mutated created'; });
        const read = (await directory.getChat(input.id))!;
        expect(read).toEqual(expected);
        tryMutate(() => { (read.members as Map<string, number>).delete(a); });
        tryMutate(() => { (read.members as Map<string, number>).set(b, 99); });
        tryMutate(() => { (read.members as Map<string, number>).set('intruder', 1); });
        tryMutate(() => { (read as { name: string }).name = 'mutated read'; });
        expect(await directory.getChat(input.id)).toEqual(expected);
        expect(await directory.chatsOf('intruder')).toEqual([]);
      });
    });

    describe('friends', () => {
      it('addFriends is symmetric and idempotent; friendsOf an unknown user is []', async () => {
        const [a, b, c] = [uniqueId('a'), uniqueId('b'), uniqueId('c')];
        await directory.addFriends(a, b);
        expect(await directory.friendsOf(a)).toEqual([b]);
        expect(await directory.friendsOf(b)).toEqual([a]);
        await directory.addFriends(b, a);
        await directory.addFriends(a, b);
        expect(await directory.friendsOf(a)).toEqual([b]);
        expect(await directory.friendsOf(b)).toEqual([a]);
        await directory.addFriends(c, a);
        expect(sorted(await directory.friendsOf(a))).toEqual(sorted([b, c]));
        expect(await directory.friendsOf(c)).toEqual([a]);
        expect(await directory.friendsOf(b)).toEqual([a]);
        expect(await directory.friendsOf(uniqueId('nobody'))).toEqual([]);
      });

      it('friendsOf returns a copy', async () => {
        const [a, b] = [uniqueId('a'), uniqueId('b')];
        await directory.addFriends(a, b);
        const friends = await directory.friendsOf(a);
        tryMutate(() => { friends.push('intruder'); });
        expect(await directory.friendsOf(a)).toEqual([b]);
      });
    });

    describe('friend requests (consent)', () => {
      it('a request is pending until the other accepts; only then are they friends, both ways', async () => {
        const [a, b] = [uniqueId('a'), uniqueId('b')];
        expect(await directory.requestFriendship(a, b)).toBe('requested');
        expect(await directory.friendsOf(a)).toEqual([]);
        expect(await directory.friendsOf(b)).toEqual([]);
        expect(await directory.friendRequestsOf(a)).toEqual({ incoming: [], outgoing: [b] });
        expect(await directory.friendRequestsOf(b)).toEqual({ incoming: [a], outgoing: [] });
        // The requester cannot accept their own request.
        expect(await directory.acceptFriendship(a, b)).toBe(false);
        expect(await directory.friendsOf(a)).toEqual([]);
        expect(await directory.acceptFriendship(b, a)).toBe(true);
        expect(await directory.friendsOf(a)).toEqual([b]);
        expect(await directory.friendsOf(b)).toEqual([a]);
        expect(await directory.friendRequestsOf(a)).toEqual({ incoming: [], outgoing: [] });
        expect(await directory.friendRequestsOf(b)).toEqual({ incoming: [], outgoing: [] });
        expect(await directory.acceptFriendship(b, a)).toBe(false);
        expect(await directory.requestFriendship(a, b)).toBe('already-friends');
      });

      it('asking back accepts; asking oneself changes nothing', async () => {
        const [a, b] = [uniqueId('a'), uniqueId('b')];
        await directory.requestFriendship(a, b);
        expect(await directory.requestFriendship(b, a)).toBe('friends');
        expect(await directory.friendsOf(b)).toEqual([a]);
        expect(await directory.friendRequestsOf(a)).toEqual({ incoming: [], outgoing: [] });
        expect(await directory.requestFriendship(a, a)).toBe('self');
        expect(await directory.friendsOf(a)).toEqual([b]);
      });

      it('a request can be declined or cancelled, from either side', async () => {
        const [a, b, c] = [uniqueId('a'), uniqueId('b'), uniqueId('c')];
        await directory.requestFriendship(a, b);
        await directory.requestFriendship(a, c);
        expect(await directory.removeFriendRequest(b, a)).toBe(true); // b declines
        expect(await directory.removeFriendRequest(a, c)).toBe(true); // a cancels
        expect(await directory.removeFriendRequest(a, c)).toBe(false);
        expect(await directory.friendRequestsOf(a)).toEqual({ incoming: [], outgoing: [] });
        expect(await directory.acceptFriendship(b, a)).toBe(false);
        expect(await directory.friendsOf(b)).toEqual([]);
      });

      it('addFriends (admin provisioning) needs no request and clears a pending one', async () => {
        const [a, b] = [uniqueId('a'), uniqueId('b')];
        await directory.requestFriendship(a, b);
        await directory.addFriends(a, b);
        expect(await directory.friendsOf(b)).toEqual([a]);
        expect(await directory.friendRequestsOf(b)).toEqual({ incoming: [], outgoing: [] });
      });
    });
  });
}
