import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeClient, closeClients } from '../helpers/clients.js'
import { enterRoom, ensureChromium, openBrowser, type BrowserUser } from '../helpers/browser.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'
import type { PlazaChannel, PlazaClient } from '@plaza/client'

// The demo's teacher mutes and removes a student, in real Chromium; a Node client in the room
// (a student too) shows what reaches the others.
let node: RendezvousProcess
let ada: BrowserUser
let bo: BrowserUser
let cy: PlazaClient
let cyRoom: PlazaChannel
const cyGot: string[] = []
const ROOM = 'chem-202'

beforeAll(async () => {
  ensureChromium()
  node = await startRendezvous({ args: ['--dev-tokens'] })
  ada = await openBrowser()
  bo = await openBrowser()
  await enterRoom(ada.page, node.httpUrl, 'Ada', ROOM, 'teacher')
  await enterRoom(bo.page, node.httpUrl, 'Bo', ROOM, 'student')
  cy = makeClient(node)
  await cy.login({ uid: 'Cy', token: await node.token('Cy', 3600, { role: 'student' }) })
  cyRoom = cy.createChannel(ROOM)
  // Chat only: the pages' whiteboards talk in RAW messages of their own.
  cyRoom.on('ChannelMessage', (m) => {
    if (m.messageType === 'TEXT') cyGot.push(m.text)
  })
  await cyRoom.join()
}, 90_000)

afterAll(async () => {
  await closeClients()
  await ada?.close()
  await bo?.close()
  await stopRendezvous(node)
})

const chat = async (user: BrowserUser, text: string) => {
  await user.page.getByTestId('chat-to').selectOption('')
  await user.page.getByTestId('chat-input').fill(text)
  await user.page.getByTestId('chat-send').click()
}

describe('moderation in the classroom demo', () => {
  it('shows roles from the tokens', async () => {
    await ada.page.locator('[data-member="Bo"] .role', { hasText: 'student' }).waitFor()
    await bo.page.locator('[data-member="Ada"] .role', { hasText: 'teacher' }).waitFor()
    expect(cyRoom.getMemberState('Ada').role).toBe('teacher')
  })

  it('a muted student’s messages reach no one; unmuted, they do', async () => {
    const cyTold = waitForEvent(cyRoom, 'MemberStateChanged', (uid, st) => uid === 'Bo' && (st as { muted: boolean }).muted)
    await ada.page.locator('[data-mute="Bo"]').click()
    await bo.page.locator('[data-testid="chat-log"] li', { hasText: 'The teacher muted you' }).waitFor()
    await ada.page.locator('[data-member="Bo"] [data-muted]').waitFor()
    await cyTold
    await chat(bo, 'Can anyone hear me?')
    await bo.page.locator('[data-testid="chat-log"] li', { hasText: 'Not sent: muted' }).waitFor()

    await ada.page.locator('[data-unmute="Bo"]').click()
    await bo.page.locator('[data-testid="chat-log"] li', { hasText: 'You may speak in the chat again' }).waitFor()
    const cyHears = waitForEvent(cyRoom, 'ChannelMessage', (m) => (m as { messageType: string }).messageType === 'TEXT')
    await chat(bo, 'Now you can')
    await ada.page.locator('[data-testid="chat-log"] li[data-from="Bo"]', { hasText: 'Now you can' }).waitFor()
    await cyHears
    expect(cyGot).toEqual(['Now you can'])
    expect(await ada.page.locator('[data-testid="chat-log"] li', { hasText: 'Can anyone hear me?' }).count()).toBe(0)
  })

  it('a removed student is out of the room and cannot join again', async () => {
    const cyLeft = waitForEvent(cyRoom, 'MemberLeft', (uid) => uid === 'Bo')
    await ada.page.locator('[data-remove="Bo"]').click()
    await bo.page.getByTestId('removed').waitFor()
    await cyLeft
    await ada.page.locator('[data-member="Bo"]').waitFor({ state: 'detached' })
    await bo.page.getByTestId('rejoin').click()
    await bo.page.locator('[data-testid="chat-log"] li', { hasText: 'Could not join again: removed from chem-202 until' }).waitFor()
    expect(cyRoom.getMemberState('Bo').muted).toBe(false)
    expect(await cyRoom.getMembers()).not.toContain('Bo')
  })
})
